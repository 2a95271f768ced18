//! Notifications through Amazon SES (API v2): one message per recipient, plain text and HTML,
//! from the shop's verified sender address.

use async_trait::async_trait;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::domain::contact::Email;
use crate::domain::notification::Notification;
use crate::ports::{Notifier, NotifyError};

#[derive(Debug, Clone)]
pub struct SesNotifier {
    client: aws_sdk_sesv2::Client,
    sender: Email,
}

impl SesNotifier {
    pub fn new(client: aws_sdk_sesv2::Client, sender: Email) -> Self {
        Self { client, sender }
    }
}

fn content(text: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|err| NotifyError::Refused(err.to_string()))
}

#[async_trait]
impl Notifier for SesNotifier {
    async fn send(&self, message: &Notification) -> Result<String, NotifyError> {
        let body = Body::builder()
            .text(content(&message.text())?)
            .html(content(&crate::render::html::notification(message))?)
            .build();
        let email = Message::builder().subject(content(&message.subject)?).body(body).build();
        let sent = self
            .client
            .send_email()
            .from_email_address(self.sender.as_str())
            .destination(Destination::builder().to_addresses(message.to.as_str()).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await
            .map_err(refusal)?;
        Ok(sent.message_id.unwrap_or_default())
    }
}

/// What SES will never take stays refused; everything else (throttling, outages) passes.
fn refusal(err: SdkError<SendEmailError>) -> NotifyError {
    match err.as_service_error() {
        Some(
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_),
        ) => NotifyError::Refused(aws_sdk_sesv2::error::DisplayErrorContext(&err).to_string()),
        _ => NotifyError::Unavailable(Box::new(err)),
    }
}
