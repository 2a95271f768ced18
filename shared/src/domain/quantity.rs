use std::fmt;

use serde::{Deserialize, Serialize};

/// How many units of one product a line holds: 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be a whole number from 1 to {}", Quantity::MAX)]
pub struct QuantityError;

impl Quantity {
    /// No single line may ask for more than this: a typo guard, far above any real basket.
    pub const MAX: u32 = 10_000;

    pub fn new(value: u32) -> Result<Self, QuantityError> {
        (1..=Self::MAX).contains(&value).then_some(Self(value)).ok_or(QuantityError)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = QuantityError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> u32 {
        value.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_more_than_the_maximum_are_refused() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(Quantity::MAX + 1).is_err());
        assert_eq!(Quantity::new(3).map(Quantity::get), Ok(3));
    }
}
