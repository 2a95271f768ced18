//! Staff notes on orders: `NOTES#<order id>`, sorted by when each was written.

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
