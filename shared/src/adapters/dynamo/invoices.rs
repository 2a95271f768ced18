//! Invoices: numbered from one counter, moved in the transaction that writes the invoice.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::keys::{invoice_partition, key, Entity, COUNTER_SK, INVOICE_COUNTER_PK, INVOICE_SK};
use super::records::{to_item, InvoiceRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::invoice::Invoice;
use crate::domain::OrderId;
use crate::ports::{InvoiceStore, InvoiceWrite, StoreError};

#[async_trait::async_trait]
impl InvoiceStore for DynamoStore {
    async fn last_invoice_number(&self) -> Result<u64, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(INVOICE_COUNTER_PK.to_owned(), COUNTER_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .item
            .and_then(|item| item.get("last_number").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }

    async fn create_invoice(&self, invoice: &Invoice, last: u64) -> Result<InvoiceWrite, StoreError> {
        let counter = Update::builder()
            .table_name(&self.orders_table)
            .set_key(Some(key(INVOICE_COUNTER_PK.to_owned(), COUNTER_SK)))
            .update_expression("SET last_number = :next, entity = :entity")
            .condition_expression(if last == 0 {
                "attribute_not_exists(pk)"
            } else {
                "last_number = :last"
            })
            .set_expression_attribute_values(Some({
                let mut values = std::collections::HashMap::from([
                    (":next".to_owned(), AttributeValue::N(invoice.sequence.to_string())),
                    (":entity".to_owned(), Entity::Counter.attribute()),
                ]);
                if last > 0 {
                    values.insert(":last".to_owned(), AttributeValue::N(last.to_string()));
                }
                values
            }))
            .build()
            .map_err(encode_failure)?;
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(to_item(&InvoiceRecord::new(invoice))?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(encode_failure)?;
        let items = vec![
            TransactWriteItem::builder().update(counter).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(InvoiceWrite::Issued),
            Err(err) => err,
        };
        let failed = |index: usize| match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons().get(index).and_then(|reason| reason.code()) == Some("ConditionalCheckFailed")
            }
            _ => false,
        };
        if failed(1) {
            return Ok(InvoiceWrite::AlreadyIssued);
        }
        if failed(0) {
            return Ok(InvoiceWrite::NumberTaken);
        }
        Err(classify(err))
    }

    async fn get_invoice(&self, order: OrderId) -> Result<Option<Invoice>, StoreError> {
        let record: Option<InvoiceRecord> = self.read_order_table(key(invoice_partition(order), INVOICE_SK)).await?;
        Ok(record.map(InvoiceRecord::into_invoice))
    }
}
