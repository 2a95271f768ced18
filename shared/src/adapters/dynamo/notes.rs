//! Staff notes on orders: `NOTES#<order id>`, sorted by when each was written. Free text may
//! name the customer: the notes go when the order's personal data does.

use aws_sdk_dynamodb::types::AttributeValue;

use super::records::{to_item, NoteRecord};
use super::DynamoStore;
use crate::domain::note::OrderNote;
use crate::domain::OrderId;
use crate::ports::{NotePage, OrderNotes, StoreError};

#[async_trait::async_trait]
impl OrderNotes for DynamoStore {
    async fn add_note(&self, note: &OrderNote) -> Result<(), StoreError> {
        // A fresh id each time: created once, never over another.
        self.put_once(&self.orders_table, to_item(&NoteRecord::new(note))?)
            .await
            .map(|_| ())
    }

    async fn erase_notes(&self, order: OrderId) -> Result<usize, StoreError> {
        let mut erased = 0;
        // Page after page: deleting what a page named never skips a note.
        loop {
            let page = self.notes(order, 100, None).await?;
            if page.notes.is_empty() {
                return Ok(erased);
            }
            for note in &page.notes {
                let record = NoteRecord::new(note);
                self.client
                    .delete_item()
                    .table_name(&self.orders_table)
                    .key("pk", AttributeValue::S(record.pk))
                    .key("sk", AttributeValue::S(record.sk))
                    .send()
                    .await
                    .map_err(crate::adapters::classify)?;
                erased += 1;
            }
        }
    }

    async fn notes(&self, order: OrderId, limit: u16, after: Option<&str>) -> Result<NotePage, StoreError> {
        let (records, next) = self
            .log_page::<NoteRecord>(&self.orders_table, NoteRecord::partition(order), limit, after)
            .await?;
        Ok(NotePage {
            notes: records.into_iter().map(|record| record.note).collect(),
            next,
        })
    }
}
