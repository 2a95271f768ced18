//! Which shards hold each line: a line of a sharded product holds from shards chosen at random,
//! so that a rush spreads over them; a line of an unsharded product holds from its one item.

use std::collections::HashMap;

use super::ids::Sku;
use super::line::{LineProblem, LineProblemCode, OrderLine};
use super::product::Product;
use super::stock::{plan_takes, recorded_takes};

/// Chooses the shards each line of a sharded product holds from, starting each at the shard
/// `start` answers (random, so that a rush spreads over the shards); a line of an unsharded
/// product holds from its one item. Answers the lines no plan can hold: the shards together,
/// as just read, have less than the line asks for.
pub fn assign_takes(lines: &mut [OrderLine], catalogue: &HashMap<Sku, Product>, mut start: impl FnMut() -> u32) -> Vec<LineProblem> {
    let mut short = Vec::new();
    for line in lines.iter_mut() {
        let Some(product) = catalogue.get(&line.product_id).filter(|product| !product.shards.is_empty()) else {
            line.stock_takes = Vec::new();
            continue;
        };
        match plan_takes(
            line.quantity,
            &product.shards,
            product.stock_shards,
            usize::try_from(start()).unwrap_or_default(),
        ) {
            Some(takes) => line.stock_takes = recorded_takes(takes),
            None => short.push(LineProblem {
                product_id: line.product_id.clone(),
                code: LineProblemCode::OutOfStock,
                requested: line.quantity,
                available: Some(product.available),
            }),
        }
    }
    short
}

/// Plans each line of a sharded product again, from the shard after the one its first take
/// held from: after a hold on a busy shard (throttled, or lost to a conflict), the retry knocks
/// on the next shard instead of the same one, on the same read.
pub fn move_takes_on(lines: &mut [OrderLine], catalogue: &HashMap<Sku, Product>) {
    let starts: Vec<u32> = lines
        .iter()
        .filter(|line| catalogue.get(&line.product_id).is_some_and(|product| !product.shards.is_empty()))
        // No takes recorded: all of it from shard 0 (see `recorded_takes`).
        .map(|line| line.stock_takes.first().map_or(1, |take| u32::from(take.shard) + 1))
        .collect();
    let mut starts = starts.into_iter();
    assign_takes(lines, catalogue, || starts.next().unwrap_or(0));
}

/// Whether a line is of a sharded product, whose holds a refusal may ask to plan again.
pub fn holds_from_shards(lines: &[OrderLine], catalogue: &HashMap<Sku, Product>) -> bool {
    lines
        .iter()
        .any(|line| catalogue.get(&line.product_id).is_some_and(Product::is_sharded))
}

/// A refusal's problems as the customer reads them: a sharded product's `available` is what
/// all its shards hold (as last read), not what the one shard that refused held.
pub fn summed_problems(mut problems: Vec<LineProblem>, catalogue: &HashMap<Sku, Product>) -> Vec<LineProblem> {
    for problem in &mut problems {
        if let Some(product) = catalogue.get(&problem.product_id).filter(|product| product.is_sharded()) {
            problem.code = LineProblemCode::OutOfStock;
            problem.available = Some(product.available);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stock::tests::{q, shards};
    use crate::domain::stock::{ShardTake, StockShards};

    fn product(sku: &str, available: &[i64], active: u8) -> Product {
        let mut product = Product::example(sku, "1.00");
        product.available = available.iter().sum();
        product.on_hand = product.available;
        product.stock_shards = StockShards::new(active).unwrap();
        product.shards = if active > 1 { shards(available) } else { Vec::new() };
        product
    }

    fn line(sku: &str, quantity: u32) -> OrderLine {
        OrderLine {
            item_id: crate::domain::ItemId::parse("item-1").unwrap(),
            product_id: Sku::parse(sku).unwrap(),
            name: sku.to_owned(),
            seller_id: crate::domain::SellerId::parse("s").unwrap(),
            quantity: q(quantity),
            unit_price: crate::domain::Money::parse("1.00").unwrap(),
            subtotal: crate::domain::Money::parse("1.00").unwrap(),
            price_version: 1,
            stock_takes: Vec::new(),
        }
    }

    #[test]
    fn lines_of_sharded_products_get_takes_and_a_line_all_shards_cannot_hold_is_reported_with_their_sum() {
        let catalogue: HashMap<Sku, Product> = [product("hot", &[3, 3, 3], 3), product("plain", &[9], 1)]
            .into_iter()
            .map(|product| (product.product_id.clone(), product))
            .collect();
        let mut lines = vec![line("hot", 2), line("plain", 5)];
        assert!(assign_takes(&mut lines, &catalogue, || 2).is_empty());
        assert_eq!(lines[0].stock_takes, vec![ShardTake { shard: 2, quantity: q(2) }]);
        assert!(lines[1].stock_takes.is_empty(), "an unsharded product holds from its own item");

        let mut lines = vec![line("hot", 7)];
        assert!(assign_takes(&mut lines, &catalogue, || 0).is_empty());
        assert_eq!(lines[0].stock_takes.iter().map(|take| take.quantity.get()).sum::<u32>(), 7);
        let mut lines = vec![line("hot", 10)];
        let short = assign_takes(&mut lines, &catalogue, || 0);
        assert_eq!((short.len(), short[0].available), (1, Some(9)));
        assert_eq!(short[0].code, LineProblemCode::OutOfStock);
    }

    #[test]
    fn a_retry_moves_each_sharded_line_on_to_the_next_shard_and_wraps_around() {
        let catalogue: HashMap<Sku, Product> = [product("hot", &[3, 3, 3], 3), product("plain", &[9], 1)]
            .into_iter()
            .map(|product| (product.product_id.clone(), product))
            .collect();
        let mut lines = vec![line("plain", 1), line("hot", 1)];
        assign_takes(&mut lines, &catalogue, || 1);
        let shard = |lines: &[OrderLine]| lines[1].stock_takes.iter().map(|take| take.shard).collect::<Vec<_>>();
        assert_eq!(shard(&lines), [1]);
        move_takes_on(&mut lines, &catalogue);
        assert_eq!(shard(&lines), [2]);
        move_takes_on(&mut lines, &catalogue);
        assert!(shard(&lines).is_empty(), "past the last shard, the first (recorded as no takes)");
        move_takes_on(&mut lines, &catalogue);
        assert_eq!(shard(&lines), [1], "from shard 0 on to shard 1");
        assert!(lines[0].stock_takes.is_empty(), "an unsharded line holds from its own item");
    }
}
