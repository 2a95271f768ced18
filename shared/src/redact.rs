//! Personal data stays out of the logs. Our own log lines name people only by their user id; but
//! a dependency's error can carry an address (SES names the recipient it refused) and reaches
//! the logs in a cause chain. Every line is written through `Redacted`, which masks email
//! addresses and E.164 phone numbers wherever they appear.

use std::borrow::Cow;
use std::io;

use tracing_subscriber::fmt::MakeWriter;

const EMAIL: &str = "[email]";
const PHONE: &str = "[phone]";

fn is_local_part(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-')
}

/// The text with every email address and phone number (`+` and 8 to 15 digits) masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut masked: Vec<(usize, usize, &str)> = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'@' => {
                let start = (0..index).rev().take_while(|&i| is_local_part(bytes[i])).last();
                let mut end = index + 1;
                while end < bytes.len() && is_domain(bytes[end]) {
                    end += 1;
                }
                // The domain ends before any trailing dot (the end of a sentence).
                while end > index + 1 && bytes[end - 1] == b'.' {
                    end -= 1;
                }
                let domain = &text[index + 1..end];
                let looks_like_domain = domain.contains('.') && !domain.starts_with('.');
                match start {
                    Some(start) if looks_like_domain && masked.last().is_none_or(|&(_, last_end, _)| start >= last_end) => {
                        masked.push((start, end, EMAIL));
                        index = end;
                    }
                    _ => index += 1,
                }
            }
            b'+' if index == 0 || !bytes[index - 1].is_ascii_alphanumeric() => {
                let digits = bytes[index + 1..].iter().take_while(|byte| byte.is_ascii_digit()).count();
                let end = index + 1 + digits;
                let stands_alone = bytes.get(end).is_none_or(|byte| !byte.is_ascii_alphanumeric());
                if (8..=15).contains(&digits) && stands_alone {
                    masked.push((index, end, PHONE));
                    index = end;
                } else {
                    index += 1;
                }
            }
            _ => index += 1,
        }
    }
    if masked.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end, mask) in masked {
        out.push_str(&text[from..start]);
        out.push_str(mask);
        from = end;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// A log writer that masks personal data in each line before it is written.
pub struct Redacted<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacted<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

pub struct RedactingWriter<W>(W);

impl<W: io::Write> io::Write for RedactingWriter<W> {
    /// The formatter hands over a whole line at once; a line that is not text is passed as is.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(redact(text).as_bytes())?,
            Err(_) => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn email_addresses_and_phone_numbers_are_masked() {
        let line = r#"{"error":"MessageRejected: Email address is not verified. The following identities failed the check: alice.smith+shop@mail.example.com.","phone":"+4915112345678"}"#;
        assert_eq!(
            redact(line),
            r#"{"error":"MessageRejected: Email address is not verified. The following identities failed the check: [email].","phone":"[phone]"}"#
        );
    }

    #[test]
    fn lines_without_personal_data_are_left_alone() {
        for line in [
            r#"{"order_id":"01a2018f-56e3-7b61-9f0a-5bd1c0a4e2d7","total":"+12.50","actor":"admin:shop-admin"}"#,
            "retry @ 3 attempts, +5 s",
            "user@localhost is no address; nor is @example.com",
            "amount +123456789012345678 is not a phone",
        ] {
            assert_eq!(redact(line), line);
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_service_logs_never_carry_an_address_from_an_error_chain() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = crate::startup::log_format(Redacted(move || sink.clone()), "info");
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", order_id = "o-1");
            let _entered = span.enter();
            tracing::error!(
                error = "the mail service refused bob@example.org",
                to = "+15551234567",
                "notification failed"
            );
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("notification failed") && logged.contains("o-1"), "{logged}");
        assert!(!logged.contains("bob@example.org") && !logged.contains("+15551234567"), "{logged}");
        assert!(logged.contains("[email]") && logged.contains("[phone]"), "{logged}");
    }
}
