//! The catalogue's search index: a product's name words under `WORDS#<first char>`, sorted by
//! word then product, so a prefix is one Query of one partition.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use super::keys::{product_word_key, word_partition};
use super::records::{to_item, ProductWordRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::SellerId;
use crate::ports::{CatalogueSearch, NameWords, StoreError, WordPage};

/// Writes one BatchWriteItem may carry.
const BATCH_WRITE_ITEMS: usize = 25;

#[async_trait::async_trait]
impl CatalogueSearch for DynamoStore {
    async fn index_words(&self, change: &NameWords) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(change.words.len() + change.gone.len());
        for word in &change.words {
            let item = to_item(&ProductWordRecord::new(word, &change.product_id, &change.seller_id))?;
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(encode_failure)?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        for word in &change.gone {
            let delete = DeleteRequest::builder()
                .set_key(Some(product_word_key(word, &change.product_id)))
                .build()
                .map_err(encode_failure)?;
            writes.push(WriteRequest::builder().delete_request(delete).build());
        }
        let table = self.inventory_table.as_str();
        for chunk in writes.chunks(BATCH_WRITE_ITEMS) {
            let left = self
                .unprocessed_retry
                .drain(chunk.to_vec(), |pending| async move {
                    let output = self
                        .client
                        .batch_write_item()
                        .request_items(table, pending)
                        .send()
                        .await
                        .map_err(classify)?;
                    Ok::<_, StoreError>(output.unprocessed_items.and_then(|mut left| left.remove(table)).unwrap_or_default())
                })
                .await?;
            if !left.is_empty() {
                return Err(StoreError::Transient(
                    "some search words stayed unprocessed by BatchWriteItem".into(),
                ));
            }
        }
        Ok(())
    }

    async fn find_by_word(&self, prefix: &str, seller: Option<&SellerId>, limit: u16, after: Option<&str>) -> Result<WordPage, StoreError> {
        let partition = word_partition(prefix);
        let start = after.map(|sort_key| {
            std::collections::HashMap::from([
                ("pk".to_owned(), AttributeValue::S(partition.clone())),
                ("sk".to_owned(), AttributeValue::S(sort_key.to_owned())),
            ])
        });
        let mut query = self
            .client
            .query()
            .table_name(&self.inventory_table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .limit(i32::from(limit))
            .set_exclusive_start_key(start);
        if let Some(seller) = seller {
            query = query
                .filter_expression("seller_id = :seller")
                .expression_attribute_values(":seller", AttributeValue::S(seller.to_string()));
        }
        let output = query.send().await.map_err(classify)?;
        let mut entries = Vec::with_capacity(output.items().len());
        for item in output.items() {
            let record: ProductWordRecord = serde_dynamo::from_item(item.clone()).map_err(encode_failure)?;
            entries.push((record.word, record.product_id));
        }
        let next = output
            .last_evaluated_key()
            .and_then(|key| key.get("sk"))
            .and_then(|value| value.as_s().ok())
            .cloned();
        Ok(WordPage { entries, next })
    }
}
