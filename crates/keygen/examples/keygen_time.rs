//! Times RSA key generation, this crate's against AWS-LC's own: `cargo run --release -p
//! deploykit-keygen --example keygen_time -- [N] [BITS] [WHO]` (defaults: 40, 4096,
//! `sieve`; WHO is `sieve` (two threads), `sieve1` (one thread) or `aws-lc`). Prime
//! search is random, so one key says little: this prints the median, the 10th and 90th
//! percentiles and the mean of N keys, in wall-clock time and in the process's CPU time
//! (all threads; Linux only, else 0).

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(40), |n| n.parse())?;
    let bits: u32 = args.next().map_or(Ok(4096), |n| n.parse())?;
    let who = args.next().unwrap_or_else(|| "sieve".into());
    let size = match bits {
        2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
        3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
        4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        _ => aws_lc_rs::rsa::KeySize::Rsa8192,
    };
    let call: Box<dyn Fn() -> Result<(), String>> = match who.as_str() {
        "sieve" => Box::new(move || {
            deploykit_keygen::rsa_private_key_der(bits)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        "sieve1" => Box::new(move || {
            deploykit_keygen::rsa_private_key_der_on(bits, 1)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        "aws-lc" => Box::new(move || {
            aws_lc_rs::rsa::KeyPair::generate(size)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        other => return Err(format!("{other}: expected sieve, sieve1 or aws-lc").into()),
    };
    let mut wall = Vec::with_capacity(count);
    let mut cpu = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let (start, start_cpu) = (Instant::now(), process_cpu_ms());
        call()?;
        wall.push(start.elapsed().as_secs_f64() * 1000.0);
        cpu.push(process_cpu_ms() - start_cpu);
    }
    println!("{who} RSA {bits}, {} keys:", wall.len());
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
