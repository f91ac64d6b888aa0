//! Renders the HTML report of a `results.json`: `cargo run -p ftpspec-report --example
//! render -- results.json index.html` (to measure the report's size and speed on a real run).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: render RESULTS_JSON OUT_HTML");
        std::process::exit(2);
    };
    let run = match ftpspec_report::RunResults::read(std::path::Path::new(input)) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("render: {e}");
            std::process::exit(1);
        }
    };
    let page = ftpspec_report::html::html(&run, None);
    if let Err(e) = std::fs::write(output, &page) {
        eprintln!("render: {output}: {e}");
        std::process::exit(1);
    }
    println!(
        "{output}: {} bytes, {} cases",
        page.len(),
        run.results.len()
    );
}
