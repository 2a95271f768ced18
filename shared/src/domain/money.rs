//! Money: exact decimals with at most two fractional digits, never through f64.

use std::fmt;
use std::ops::Sub;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Digits after the decimal point that prices and totals carry (minor units of the currency).
pub const MONEY_SCALE: u32 = 2;

/// A non-negative amount of the shop's currency, exact to the minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Largest amount any price, line, total or refund may reach: far above any real basket, small
/// enough that multiplying a price by a quantity can never overflow `Decimal`. Every amount the
/// service computes is checked against it (there is no unchecked `+` or `*` on `Money`).
const MONEY_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is not a decimal number")]
    NotANumber,
    #[error("amount must not be negative")]
    Negative,
    #[error("amount has more than {MONEY_SCALE} decimal places")]
    TooPrecise,
    #[error("amount is larger than 1000000000")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, MONEY_SCALE));

    /// The bound every amount is held to.
    pub const MAX: Money = Money(Decimal::from_parts(1_215_752_192, 23, 0, false, MONEY_SCALE)); // 100_000_000_000 cents

    /// Parses a plain decimal string (`12`, `12.5`, `12.50`): no exponent, no grouping.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        Self::bounded(Self::parse_unbounded(text)?)
    }

    /// Reads an amount as stored. Tolerates amounts above the bound, which releases before the
    /// bound was enforced at placement could store: such an order must still read, list,
    /// cancel and expire.
    pub fn from_stored(text: &str) -> Result<Self, MoneyError> {
        Self::parse_unbounded(text)
    }

    fn parse_unbounded(text: &str) -> Result<Self, MoneyError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        let plain = |part: &str| !part.is_empty() && part.len() <= 28 && part.bytes().all(|b| b.is_ascii_digit());
        if !plain(whole) || !plain(fraction) {
            return Err(MoneyError::NotANumber);
        }
        let value = Decimal::from_str(text).map_err(|_| MoneyError::NotANumber)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.normalize().scale() > MONEY_SCALE {
            return Err(MoneyError::TooPrecise);
        }
        Ok(Self::canonical(value))
    }

    fn bounded(self) -> Result<Self, MoneyError> {
        if self.0 > MONEY_MAX {
            Err(MoneyError::TooLarge)
        } else {
            Ok(self)
        }
    }

    /// The sum, or `TooLarge` past the bound.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        let sum = self.0.checked_add(other.0).ok_or(MoneyError::TooLarge)?;
        Money::canonical(sum).bounded()
    }

    /// The amount times a quantity, or `TooLarge` past the bound.
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        let product = self.0.checked_mul(Decimal::from(quantity)).ok_or(MoneyError::TooLarge)?;
        Money::canonical(product).bounded()
    }

    /// The sum of all, or `TooLarge` as soon as it passes the bound.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>) -> Result<Money, MoneyError> {
        amounts.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// Rounds an exact intermediate (a tax amount, say) to the minor unit, half away from zero:
    /// the one rounding rule the service applies, once per total component.
    pub fn round_from(value: Decimal) -> Self {
        Self::canonical(
            value
                .round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::MidpointAwayFromZero)
                .max(Decimal::ZERO),
        )
    }

    fn canonical(value: Decimal) -> Self {
        let mut value = value.abs();
        value.rescale(MONEY_SCALE);
        Money(value)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The amount in minor units (cents), for sort keys; exact because the scale is fixed.
    pub fn minor_units(self) -> u64 {
        let mantissa = self.0.mantissa();
        u64::try_from(mantissa).unwrap_or(u64::MAX)
    }

    /// The amount in the minor units of `currency` as ISO 4217 counts them (USD cents, JPY
    /// yen, KWD fils), for a payment provider; `None` when the amount has finer fractions
    /// than the currency (1.50 JPY) or does not fit.
    pub fn in_minor_units_of(self, currency: &str) -> Option<u64> {
        let scaled = self.0.checked_mul(Decimal::from(10u64.pow(minor_unit_digits(currency))))?;
        if !scaled.fract().is_zero() {
            return None;
        }
        rust_decimal::prelude::ToPrimitive::to_u64(&scaled)
    }

    /// The amount `units` minor units of `currency` make; `None` for one beyond the bound or
    /// finer than the money scale.
    pub fn from_minor_units_of(units: u64, currency: &str) -> Option<Money> {
        let value = Decimal::from_i128_with_scale(i128::from(units), minor_unit_digits(currency));
        Money::parse(&value.to_string()).ok()
    }

    pub fn saturating_sub(self, other: Money) -> Money {
        Money::canonical((self.0 - other.0).max(Decimal::ZERO))
    }
}

/// Digits of a currency's minor unit by ISO 4217: 0 for the yen and its kind, 3 for the
/// dinars, 2 for the rest.
pub fn minor_unit_digits(currency: &str) -> u32 {
    const NONE: [&str; 17] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

impl Sub for Money {
    type Output = Money;
    /// Subtraction never goes below zero: a discount cannot make a total negative.
    fn sub(self, rhs: Money) -> Money {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only stored items are deserialized; requests parse through `Money::parse`.
        let text = String::deserialize(deserializer)?;
        Money::from_stored(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_keeps_two_decimal_places_exactly() {
        assert_eq!(Money::parse("19.9").unwrap().to_string(), "19.90");
        assert_eq!(
            Money::parse("0.1").unwrap().checked_add(Money::parse("0.2").unwrap()),
            Ok(Money::parse("0.3").unwrap())
        );
        assert_eq!(Money::parse("5").unwrap().to_string(), "5.00");
    }

    #[test]
    fn negative_overprecise_huge_and_garbage_amounts_are_rejected() {
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1.001"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("1000000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("abc"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(" 1"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1."), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1_000"), Err(MoneyError::NotANumber));
    }

    #[test]
    fn trailing_zeros_beyond_the_scale_are_accepted() {
        assert_eq!(Money::parse("1.500").unwrap().to_string(), "1.50");
    }

    #[test]
    fn rounding_is_half_away_from_zero_once() {
        assert_eq!(Money::round_from(Decimal::new(1005, 3)).to_string(), "1.01");
        assert_eq!(Money::round_from(Decimal::new(1004, 3)).to_string(), "1.00");
    }

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(Money::parse("12.34").unwrap().minor_units(), 1234);
        assert_eq!(Money::parse("0.07").unwrap().checked_mul(3).unwrap().minor_units(), 21);
    }

    #[test]
    fn minor_units_follow_the_currencys_exponent_both_ways() {
        let money = |text: &str| Money::parse(text).unwrap();
        assert_eq!(money("19.99").in_minor_units_of("USD"), Some(1999));
        assert_eq!(money("1500").in_minor_units_of("JPY"), Some(1500));
        assert_eq!(money("1500.50").in_minor_units_of("JPY"), None);
        assert_eq!(money("12.34").in_minor_units_of("KWD"), Some(12340));
        assert_eq!(money("0").in_minor_units_of("USD"), Some(0));
        for (text, currency) in [("19.99", "USD"), ("1500", "JPY"), ("12.34", "KWD"), ("0.01", "EUR")] {
            let units = money(text).in_minor_units_of(currency).unwrap();
            assert_eq!(Money::from_minor_units_of(units, currency), Some(money(text)), "{text} {currency}");
        }
        assert_eq!(Money::from_minor_units_of(12345, "KWD"), None, "a fils finer than the money scale");
    }

    #[test]
    fn zero_prints_with_the_money_scale() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::ZERO, Money::parse("0").unwrap());
    }

    #[test]
    fn every_computed_amount_is_held_to_the_bound_and_stored_amounts_still_read() {
        let price = Money::parse("600000000").unwrap();
        assert_eq!(price.checked_mul(2), Err(MoneyError::TooLarge));
        assert_eq!(price.checked_add(price), Err(MoneyError::TooLarge));
        assert_eq!(Money::checked_sum([price, Money::parse("400000000").unwrap()]), Ok(Money::MAX));
        assert_eq!(Money::parse("1000000000").unwrap(), Money::MAX);
        assert_eq!(Money::MAX.checked_mul(u32::MAX), Err(MoneyError::TooLarge));
        let stored: Money = serde_json::from_str("\"1200000000.00\"").unwrap();
        assert_eq!(stored.to_string(), "1200000000.00");
        assert_eq!(Money::from_stored("-1"), Err(MoneyError::Negative));
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        assert_eq!(Money::parse("1").unwrap() - Money::parse("2").unwrap(), Money::ZERO);
    }
}
