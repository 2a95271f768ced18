//! Secrets, read once per cold start from AWS Secrets Manager: never a plain value of the
//! template or of the function's configuration, where anyone who may read the function sees it.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id} could not be read: {message}")]
    Unreadable { id: String, message: String },
    #[error("secret {id} holds no text")]
    NoText { id: String },
}

/// The text of the secret `id` (a name or an ARN), as its current version holds it.
pub async fn read_secret(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<String, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|err| SecretError::Unreadable {
            id: id.to_owned(),
            message: DisplayErrorContext(err).to_string(),
        })?;
    output
        .secret_string
        .filter(|text| !text.is_empty())
        .ok_or_else(|| SecretError::NoText { id: id.to_owned() })
}
