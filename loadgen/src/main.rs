//! `loadgen <scenario>`: drives the orders service and prints figures. See `loadgen --help`.

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match loadgen::run(args).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(2);
        }
    }
}
