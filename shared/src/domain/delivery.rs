//! Where an order was made and where it goes: the sales channel, the shipping address and the
//! customer's note, each checked field by field at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::validation::{join, FieldErrors};

/// Where the order was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Web,
    MobileApp,
    Whatsapp,
    Instagram,
    Marketplace,
    Pos,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Self::Web,
        Self::MobileApp,
        Self::Whatsapp,
        Self::Instagram,
        Self::Marketplace,
        Self::Pos,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::MobileApp => "mobile_app",
            Self::Whatsapp => "whatsapp",
            Self::Instagram => "instagram",
            Self::Marketplace => "marketplace",
            Self::Pos => "pos",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|channel| channel.as_str() == text).ok_or(())
    }
}

/// A postal address to ship to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    pub contact_name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// E.164 (`+4915112345678`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The longest customer note kept on an order.
pub const MAX_NOTE_CHARS: usize = 500;
const MAX_ADDRESS_FIELD: usize = 200;

/// ISO 3166-1 alpha-2 codes, officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG \
GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR \
NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_whitespace().any(|known| known == code)
}

fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else { return false };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

impl Address {
    /// The address at `path` of a body, every field checked; problems go to `errors`.
    pub fn from_json(value: &Value, path: &str, errors: &mut FieldErrors) -> Option<Self> {
        let object: Map<String, Value> = errors.object(value, path).cloned()?;
        errors.unknown_fields(
            &object,
            &["contact_name", "line1", "line2", "city", "state", "postal_code", "country", "phone"],
            path,
        );
        let text = |key: &str, required: bool, errors: &mut FieldErrors| -> Option<Option<String>> {
            match object.get(key) {
                None | Some(Value::Null) if !required => Some(None),
                _ => errors
                    .printable_at(&object, key, path, MAX_ADDRESS_FIELD, "INVALID_ADDRESS_FIELD")
                    .map(Some),
            }
        };
        let contact_name = text("contact_name", true, errors);
        let line1 = text("line1", true, errors);
        let line2 = text("line2", false, errors);
        let city = text("city", true, errors);
        let state = text("state", false, errors);
        let postal_code = text("postal_code", true, errors);
        let country = text("country", true, errors).map(|code| code.map(|code| code.to_ascii_uppercase()));
        if let Some(Some(code)) = &country {
            if !is_country(code) {
                errors.push(
                    join(path, "country"),
                    "INVALID_COUNTRY",
                    "must be an ISO 3166-1 alpha-2 code such as DE",
                );
            }
        }
        let phone = text("phone", false, errors);
        if let Some(Some(phone)) = &phone {
            if !is_e164(phone) {
                errors.push(
                    join(path, "phone"),
                    "INVALID_PHONE",
                    "must be an E.164 number such as +4915112345678",
                );
            }
        }
        Some(Self {
            contact_name: contact_name??,
            line1: line1??,
            line2: line2?,
            city: city??,
            state: state?,
            postal_code: postal_code??,
            country: country?.filter(|code| is_country(code))?,
            phone: phone?.filter(|phone| is_e164(phone)),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_address_is_checked_field_by_field() {
        let mut errors = FieldErrors::default();
        let good = json!({"contact_name": "Alice", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "de", "phone": "+4930123456"});
        let address = Address::from_json(&good, "shipping_address", &mut errors).unwrap();
        assert_eq!(address.country, "DE");
        assert!(errors.into_result(()).is_ok());

        let mut errors = FieldErrors::default();
        let bad = json!({"line1": "", "city": "Berlin", "postal_code": "10115", "country": "XX", "phone": "030 123", "floor": 2});
        assert!(Address::from_json(&bad, "shipping_address", &mut errors).is_none());
        let problems = errors.into_result(()).unwrap_err();
        let fields: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.code)).collect();
        assert_eq!(
            fields,
            [
                ("shipping_address.floor", "UNKNOWN_FIELD"),
                ("shipping_address.contact_name", "MISSING_FIELD"),
                ("shipping_address.line1", "INVALID_ADDRESS_FIELD"),
                ("shipping_address.country", "INVALID_COUNTRY"),
                ("shipping_address.phone", "INVALID_PHONE"),
            ]
        );
    }

    #[test]
    fn channels_read_and_write_their_wire_names() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse(), Ok(channel));
            assert_eq!(serde_json::to_value(channel).unwrap(), channel.as_str());
        }
        assert!("shop".parse::<Channel>().is_err());
    }
}
