//! `orders-local`: the orders service on one machine. See `orders-local --help`.

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = orders_local::cli::run(args).await {
        eprintln!("orders-local: {message}");
        std::process::exit(2);
    }
}
