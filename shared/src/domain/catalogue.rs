//! The public catalogue: what a shopper sees of a product (no stock counters, no versions),
//! its availability in a shop's words, and the words a product is found by.

use serde::Serialize;

use super::ids::{SellerId, Sku};
use super::money::Money;
use super::product::{ImageUrl, Product};

/// How much of a product a shopper can still buy, said the way a shop says it. The exact count
/// shows only when it is low: a shop does not publish its stock levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    InStock,
    OnlyLeft(i64),
    SoldOut,
}

impl Availability {
    /// At or below this many units, the page says how many are left.
    pub const LOW_STOCK_AT: i64 = 5;

    pub fn of(available: i64) -> Self {
        match available {
            ..=0 => Self::SoldOut,
            n if n <= Self::LOW_STOCK_AT => Self::OnlyLeft(n),
            _ => Self::InStock,
        }
    }

    pub fn label(self) -> String {
        match self {
            Self::InStock => "In stock".to_owned(),
            Self::OnlyLeft(n) => format!("Only {n} left"),
            Self::SoldOut => "Sold out".to_owned(),
        }
    }
}

impl Serialize for Availability {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (status, left) = match self {
            Self::InStock => ("IN_STOCK", None),
            Self::OnlyLeft(n) => ("LOW_STOCK", Some(*n)),
            Self::SoldOut => ("SOLD_OUT", None),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", status)?;
        if let Some(left) = left {
            map.serialize_entry("left", &left)?;
        }
        map.serialize_entry("label", &self.label())?;
        map.end()
    }
}

/// A product as the public catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub seller_name: String,
    pub price: Money,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    pub availability: Availability,
}

impl CatalogueEntry {
    pub fn new(product: Product, seller_name: &str, currency: &str) -> Self {
        Self {
            availability: Availability::of(product.available),
            product_id: product.product_id,
            name: product.name,
            seller_id: product.seller_id,
            seller_name: seller_name.to_owned(),
            price: product.price,
            currency: currency.to_owned(),
            description: product.description,
            image_url: product.image_url,
        }
    }
}

/// Words a product is indexed by, at most this many (a name has at most 200 characters).
pub const MAX_WORDS: usize = 32;
/// Longer words are indexed by their first this many characters.
pub const MAX_WORD_CHARS: usize = 40;

/// The words of a name, lower-cased, each once, in order: what a search finds it by.
pub fn words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()) {
        let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
        if !found.contains(&word) {
            found.push(word);
        }
        if found.len() == MAX_WORDS {
            break;
        }
    }
    found
}

/// A shopper's search: every word must begin a word of the product's name, in any order, case
/// aside ("blue mug" finds "Mug, blue enamel"). The index is read by the longest word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    words: Vec<String>,
}

impl Search {
    pub const MAX_CHARS: usize = 100;

    /// `None` when the text holds no word to look for.
    pub fn parse(text: &str) -> Result<Option<Self>, &'static str> {
        if text.chars().count() > Self::MAX_CHARS || text.chars().any(char::is_control) {
            return Err("must be at most 100 printable characters");
        }
        let words = words(text);
        Ok((!words.is_empty()).then_some(Self { words }))
    }

    /// The word the index is read by: the longest, the one fewest names begin a word with.
    pub fn index_word(&self) -> &str {
        self.words
            .iter()
            .max_by_key(|word| word.chars().count())
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn matches(&self, name: &str) -> bool {
        let name_words = words(name);
        self.words
            .iter()
            .all(|wanted| name_words.iter().any(|word| word.starts_with(wanted.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_says_in_stock_only_n_left_or_sold_out() {
        assert_eq!(Availability::of(6), Availability::InStock);
        assert_eq!(Availability::of(5), Availability::OnlyLeft(5));
        assert_eq!(Availability::of(1).label(), "Only 1 left");
        assert_eq!(Availability::of(0), Availability::SoldOut);
        assert_eq!(Availability::of(-2), Availability::SoldOut);
        let low = serde_json::to_value(Availability::of(3)).unwrap();
        assert_eq!(low, serde_json::json!({"status": "LOW_STOCK", "left": 3, "label": "Only 3 left"}));
        let plenty = serde_json::to_value(Availability::of(300)).unwrap();
        assert_eq!(
            plenty,
            serde_json::json!({"status": "IN_STOCK", "label": "In stock"}),
            "no count when plenty"
        );
    }

    #[test]
    fn a_name_is_indexed_by_each_of_its_words_once_lower_cased() {
        assert_eq!(words("Mug, blue enamel (Blue)"), ["mug", "blue", "enamel"]);
        assert_eq!(words("Crème brûlée set"), ["crème", "brûlée", "set"]);
        assert!(words(" -- ").is_empty());
        let long = "x".repeat(60);
        assert_eq!(words(&long)[0].chars().count(), MAX_WORD_CHARS);
    }

    #[test]
    fn a_search_finds_names_where_every_word_begins_a_word() {
        let search = Search::parse("BLUE mu").unwrap().unwrap();
        assert_eq!(search.index_word(), "blue");
        assert!(search.matches("Mug, blue enamel"));
        assert!(search.matches("Blueberry muffin tin"));
        assert!(!search.matches("Blue plate"));
        assert!(!search.matches("True blue-ish cup"), "'mu' begins no word");
        assert_eq!(Search::parse("  ,, ").unwrap(), None);
        assert!(Search::parse(&"a".repeat(101)).is_err());
        assert!(Search::parse("mug\u{0}").is_err());
    }
}
