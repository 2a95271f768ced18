//! `loadgen <scenario>`: drives the orders service and prints figures. See `loadgen --help`.

use clap::Parser;

#[tokio::main]
async fn main() {
    match loadgen::run(loadgen::Options::parse()).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(2);
        }
    }
}
