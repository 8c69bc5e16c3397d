//! Times Sprig's key generators as templates call them: `cargo run --release -p
//! deploykit-chart --example keygen -- [N] [FUNCTION] [ARG]` (defaults: 20,
//! `genPrivateKey`, `rsa`; `genCA` makes a CA with a 2048-bit key; `aws-lc 4096` or
//! `aws-lc 2048` times aws-lc-rs's key generation alone, which these functions call
//! through rcgen). Prime search is random, so one key says little: this prints
//! the median, the 10th and 90th percentiles and the mean of N calls, in wall-clock time
//! and in the process's CPU time (all threads; Linux only, else 0).

use std::time::Instant;

use deploykit_chart::Value;
use deploykit_chart::funcs::lookup;

/// The allocator `cargo xtask` renders with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(20), |n| n.parse())?;
    let name = args.next().unwrap_or_else(|| "genPrivateKey".into());
    let arg = args.next().unwrap_or_else(|| "rsa".into());
    let call: Box<dyn Fn() -> Result<(), String>> = match name.as_str() {
        "aws-lc" => {
            let size = match arg.as_str() {
                "2048" => aws_lc_rs::rsa::KeySize::Rsa2048,
                _ => aws_lc_rs::rsa::KeySize::Rsa4096,
            };
            Box::new(move || {
                aws_lc_rs::rsa::KeyPair::generate(size)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        }
        "genPrivateKey" | "genCA" => {
            let function = lookup(&name).ok_or_else(|| format!("no function {name}"))?;
            let args = if name == "genCA" {
                vec![Value::string("ca"), Value::Int(365)]
            } else {
                vec![Value::string(arg.as_str())]
            };
            Box::new(move || function(&args).map(drop).map_err(|e| format!("{e:?}")))
        }
        other => return Err(format!("{other} is not timed by this example").into()),
    };
    let mut wall = Vec::with_capacity(count);
    let mut cpu = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let (start, start_cpu) = (Instant::now(), process_cpu_ms());
        call()?;
        wall.push(start.elapsed().as_secs_f64() * 1000.0);
        cpu.push(process_cpu_ms() - start_cpu);
    }
    let what = if name == "genCA" { "(RSA 2048)" } else { &arg };
    println!("{name} {what}, {} calls:", wall.len());
    println!("  wall ms: {}", summary(&mut wall));
    println!("  cpu ms:  {}", summary(&mut cpu));
    Ok(())
}

fn summary(times: &mut [f64]) -> String {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    format!(
        "median {:.0}, p10 {:.0}, p90 {:.0}, mean {mean:.0}",
        at(0.5),
        at(0.1),
        at(0.9)
    )
}

/// User plus system CPU time of the whole process, from /proc/self/stat (clock ticks
/// of 10 ms).
fn process_cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the name.
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) * 10.0,
        _ => 0.0,
    }
}
