//! Sprig's date functions with Go's `time` semantics: Go layouts (`2006-01-02`),
//! `time.Duration` printing (`1h1m40s`), `time.Time` values printed as Go prints them.
//!
//! The machine's local zone is taken to be UTC (as in Helm's containers). A time keeps
//! the zone it was made in, as Go's does: `toDate` with an offset other than the local
//! one gives Go's fixed zone (printed `+0200 +0200`), `dateInZone` converts to a zone of
//! the machine's zone files as Go's `time.LoadLocation` reads them (`/usr/share/zoneinfo`
//! first), else the IANA database built in (`chrono-tz`), and falls back to UTC for
//! names it cannot load, as Sprig does.

use std::sync::Arc;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::OffsetName;

use super::args::{string, want};
use super::{FuncError, Result};
use crate::value::{GoObject, Value};

/// The zone a Go `time.Time` is shown in (its `*time.Location`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Zone {
    /// UTC, and Go's `time.Local`, which is UTC on Helm's machines.
    Utc,
    /// Go's `time.FixedZone(name, offset)`: a parsed offset that is not the local one
    /// (name `""`, printed as the offset), an abbreviation Go does not know (`CET` at
    /// offset 0), BurntSushi/toml's local times (`datetime-local`).
    Fixed { name: Arc<str>, offset: i32 },
    /// A zone read from the machine's zone files (`/usr/share/zoneinfo/Europe/Paris`,
    /// also names that are files there but no IANA zone, `posix/Europe/Paris`).
    File(Arc<ZoneFile>),
    /// A zone of the IANA database built in (`chrono-tz`), for names the machine has no
    /// file for.
    Named(chrono_tz::Tz),
}

/// A zone file (TZif) the machine has, by the name it was loaded with.
#[derive(Debug, PartialEq)]
pub(crate) struct ZoneFile {
    zone: tz::TimeZone,
}

/// Where Go's `time.LoadLocation` looks for zone files, in its order (its
/// `platformZoneSources` on Unix).
const ZONE_FILE_DIRS: [&str; 4] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
    "/etc/zoneinfo",
];

/// Zone files already read, by name (`None`: no loadable file), so that a template
/// converting many times reads each file once.
static ZONE_FILES: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Option<Arc<ZoneFile>>>>,
> = std::sync::LazyLock::new(Default::default);

impl ZoneFile {
    /// The machine's zone file `name`, as Go's `time.LoadLocation` finds it: refused
    /// for names with `..` or a leading slash, else the first file of
    /// [`ZONE_FILE_DIRS`] that reads as TZif. The `..` check is Go's `containsDotDot`
    /// (any two dots), which also keeps the name inside those folders.
    fn load(name: &str) -> Option<Arc<ZoneFile>> {
        if name.starts_with(['/', '\\']) || name.contains("..") {
            return None;
        }
        let mut cache = ZONE_FILES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(name.to_string())
            .or_insert_with(|| {
                ZONE_FILE_DIRS.iter().find_map(|dir| {
                    let bytes = std::fs::read(std::path::Path::new(dir).join(name)).ok()?;
                    let zone = tz::TimeZone::from_tz_data(&bytes).ok()?;
                    Some(Arc::new(ZoneFile { zone }))
                })
            })
            .clone()
    }

    /// The abbreviation and offset east of UTC at Unix time `unix` (UTC when the file
    /// has no answer for it).
    fn at(&self, unix: i64) -> (String, i32) {
        match self.zone.find_local_time_type(unix) {
            Ok(kind) => (kind.time_zone_designation().to_string(), kind.ut_offset()),
            Err(_) => ("UTC".to_string(), 0),
        }
    }
}

impl Zone {
    /// Go's `time.FixedZone(name, offset)`, or the local zone (UTC) for offset 0 named
    /// `""` or `UTC`, as `time.Parse` and BurntSushi/toml give it.
    fn fixed(name: &str, offset: i32) -> Zone {
        if offset == 0 && (name.is_empty() || name == "UTC") {
            Zone::Utc
        } else {
            Zone::Fixed {
                name: name.into(),
                offset,
            }
        }
    }

    /// The zone's abbreviation and its offset east of UTC in seconds at `utc`.
    fn at(&self, utc: &DateTime<Utc>) -> (String, i32) {
        match self {
            Zone::Utc => ("UTC".to_string(), 0),
            Zone::Fixed { name, offset } => (name.to_string(), *offset),
            Zone::File(file) => file.at(utc.timestamp()),
            Zone::Named(tz) => {
                let offset = tz.offset_from_utc_datetime(&utc.naive_utc());
                let seconds = offset.fix().local_minus_utc();
                let name = match offset.abbreviation() {
                    Some(name) => name.to_string(),
                    None => numeric_abbreviation(seconds),
                };
                (name, seconds)
            }
        }
    }

    /// Go's `time.LoadLocation` (`""` and `UTC` are UTC, `Local` the local zone): the
    /// machine's zone files first, as Go reads them, then the built-in database (as
    /// Go's embedded `time/tzdata` would); `None` for a name neither has.
    fn load(name: &str) -> Option<Zone> {
        match name {
            "" | "UTC" | "Local" => Some(Zone::Utc),
            _ => ZoneFile::load(name)
                .map(Zone::File)
                .or_else(|| name.parse::<chrono_tz::Tz>().ok().map(Zone::Named)),
        }
    }
}

/// The zone database's numeric abbreviation (its `%z`: `-03`, `+0530`), which the
/// zone database crate leaves out.
fn numeric_abbreviation(offset: i32) -> String {
    let abs = offset.unsigned_abs();
    let (hours, minutes, seconds) = (abs / 3600, abs / 60 % 60, abs % 60);
    let mut name = format!("{}{hours:02}", if offset < 0 { '-' } else { '+' });
    if minutes != 0 || seconds != 0 {
        name.push_str(&format!("{minutes:02}"));
    }
    if seconds != 0 {
        name.push_str(&format!("{seconds:02}"));
    }
    name
}

/// A Go `time.Time`: an instant and the zone it is shown in.
#[derive(Debug, Clone, PartialEq)]
pub struct Time {
    utc: DateTime<Utc>,
    zone: Zone,
}

impl Time {
    /// A time shown in UTC.
    fn utc(utc: DateTime<Utc>) -> Time {
        Time {
            utc,
            zone: Zone::Utc,
        }
    }

    /// The time's wall clock in its zone, with the zone's abbreviation (empty for a
    /// fixed zone without a name).
    fn local(&self) -> (DateTime<FixedOffset>, String) {
        let (name, offset) = self.zone.at(&self.utc);
        let fixed = FixedOffset::east_opt(offset).unwrap_or_else(|| Utc.fix());
        (self.utc.with_timezone(&fixed), name)
    }

    /// Go's `Time.Format`.
    fn format(&self, layout: &str) -> String {
        let (local, name) = self.local();
        format_time(&local, &name, layout)
    }
}

impl GoObject for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn go_kind(&self) -> &'static str {
        "struct"
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn call_method(
        &self,
        name: &str,
        args: &[Value],
    ) -> Option<std::result::Result<Value, String>> {
        let (t, _) = self.local();
        Some(Ok(match name {
            "Unix" => Value::Int64(self.utc.timestamp()),
            "UnixNano" => Value::Int64(self.utc.timestamp_nanos_opt().unwrap_or(0)),
            "UnixMilli" => Value::Int64(self.utc.timestamp_millis()),
            "Year" => Value::Int(i64::from(t.year())),
            "YearDay" => Value::Int(i64::from(t.ordinal())),
            "Day" => Value::Int(i64::from(t.day())),
            "Hour" => Value::Int(i64::from(t.hour())),
            "Minute" => Value::Int(i64::from(t.minute())),
            "Second" => Value::Int(i64::from(t.second())),
            "Nanosecond" => Value::Int(i64::from(t.nanosecond())),
            "UTC" | "Local" => Value::Object(Arc::new(Time::utc(self.utc))),
            "String" => Value::string(self.go_string()),
            "Format" => match args.first() {
                Some(Value::String(layout)) => Value::string(self.format(layout)),
                Some(other) => {
                    return Some(Err(format!(
                        "wrong type for value; expected string; got {}",
                        other.type_name()
                    )));
                }
                None => return Some(Err("wrong number of args for Format: want 1 got 0".into())),
            },
            _ => return None,
        }))
    }

    fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

/// A Go `time.Time` value shown in UTC.
pub(crate) fn time_value(t: DateTime<Utc>) -> Value {
    Value::Object(Arc::new(Time::utc(t)))
}

/// A Go `time.Time` value whose wall clock is `local` in Go's fixed zone `name`
/// (BurntSushi/toml's date-times).
pub(crate) fn fixed_zone_time_value(local: NaiveDateTime, name: &str, offset: i32) -> Value {
    let utc = Utc.from_utc_datetime(&local) - chrono::Duration::seconds(i64::from(offset));
    let zone = Zone::fixed(name, offset);
    Value::Object(Arc::new(Time { utc, zone }))
}

fn zero_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| Utc.from_utc_datetime(&n))
        .unwrap_or_default()
}

/// A `time.Time` argument (an object made by `now`, `toDate`...).
fn time_arg(value: &Value) -> Option<Time> {
    match value {
        Value::Object(o) => o.as_any()?.downcast_ref::<Time>().cloned(),
        _ => None,
    }
}

fn time_param(value: &Value) -> std::result::Result<Time, FuncError> {
    time_arg(value).ok_or_else(|| {
        FuncError::Args(format!(
            "wrong type for value; expected time.Time; got {}",
            match value {
                Value::Nil => "interface {}",
                other => other.type_name(),
            }
        ))
    })
}

/// The time Sprig's `date` family takes: a time, or Unix seconds; anything else is now.
fn date_arg(value: &Value) -> DateTime<Utc> {
    match value {
        Value::Int(secs) | Value::Int64(secs) => Utc
            .timestamp_opt(*secs, 0)
            .single()
            .unwrap_or_else(Utc::now),
        other => time_arg(other).map_or_else(Utc::now, |t| t.utc),
    }
}

/// Sprig's `dateInZone`: the time in zone `zone` (UTC when Go cannot load it), formatted.
fn format_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let time = Time {
        utc: date_arg(date),
        zone: Zone::load(zone).unwrap_or(Zone::Utc),
    };
    time.format(layout)
}

pub fn now(args: &[Value]) -> Result {
    want("now", args, 0)?;
    Ok(time_value(Utc::now()))
}

pub fn date(args: &[Value]) -> Result {
    want("date", args, 2)?;
    let layout = string(&args[0])?;
    Ok(Value::string(format_in_zone(layout, &args[1], "Local")))
}

fn in_zone(name: &str, args: &[Value]) -> Result {
    want(name, args, 3)?;
    let layout = string(&args[0])?;
    let zone = string(&args[2])?;
    Ok(Value::string(format_in_zone(layout, &args[1], zone)))
}

pub fn date_in_zone(args: &[Value]) -> Result {
    in_zone("dateInZone", args)
}

pub fn date_in_zone_underscore(args: &[Value]) -> Result {
    in_zone("date_in_zone", args)
}

pub fn html_date(args: &[Value]) -> Result {
    want("htmlDate", args, 1)?;
    Ok(Value::string(format_in_zone(
        "2006-01-02",
        &args[0],
        "Local",
    )))
}

pub fn html_date_in_zone(args: &[Value]) -> Result {
    want("htmlDateInZone", args, 2)?;
    let zone = string(&args[1])?;
    Ok(Value::string(format_in_zone("2006-01-02", &args[0], zone)))
}

fn modify(name: &str, args: &[Value], must: bool) -> Result {
    want(name, args, 2)?;
    let spec = string(&args[0])?;
    let t = time_param(&args[1])?;
    let moved = match parse_duration(spec) {
        Ok(nanos) => Time {
            utc: t.utc + chrono::Duration::nanoseconds(nanos),
            zone: t.zone,
        },
        Err(e) if must => return Err(FuncError::Call(e)),
        Err(_) => t,
    };
    Ok(Value::Object(Arc::new(moved)))
}

pub fn date_modify(args: &[Value]) -> Result {
    modify("dateModify", args, false)
}

pub fn date_modify_underscore(args: &[Value]) -> Result {
    modify("date_modify", args, false)
}

pub fn must_date_modify(args: &[Value]) -> Result {
    modify("mustDateModify", args, true)
}

pub fn must_date_modify_underscore(args: &[Value]) -> Result {
    modify("must_date_modify", args, true)
}

pub fn to_date(args: &[Value]) -> Result {
    want("toDate", args, 2)?;
    let (layout, text) = (string(&args[0])?, string(&args[1])?);
    let time = parse_layout(layout, text).unwrap_or_else(|_| Time::utc(zero_time()));
    Ok(Value::Object(Arc::new(time)))
}

pub fn must_to_date(args: &[Value]) -> Result {
    want("mustToDate", args, 2)?;
    let (layout, text) = (string(&args[0])?, string(&args[1])?);
    parse_layout(layout, text)
        .map(|time| Value::Object(Arc::new(time)))
        .map_err(FuncError::Call)
}

pub fn unix_epoch(args: &[Value]) -> Result {
    want("unixEpoch", args, 1)?;
    Ok(Value::string(
        time_param(&args[0])?.utc.timestamp().to_string(),
    ))
}

pub fn ago(args: &[Value]) -> Result {
    want("ago", args, 1)?;
    let t = date_arg(&args[0]);
    let nanos = (Utc::now() - t).num_nanoseconds().unwrap_or(i64::MAX);
    let rounded = ((nanos as f64) / 1e9).round() as i64 * 1_000_000_000;
    Ok(Value::string(format_duration(rounded)))
}

/// `duration`: seconds (an int64 or a decimal string) as a Go duration.
pub fn duration(args: &[Value]) -> Result {
    want("duration", args, 1)?;
    // Sprig switches on the Go type: an `int` (a literal) is not an `int64`.
    let secs = match &args[0] {
        Value::Int64(i) => *i,
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(Value::string(format_duration(
        secs.wrapping_mul(1_000_000_000),
    )))
}

/// `durationRound`: a duration rounded down to its largest unit (`2h`, `3mo`, `1y`).
pub fn duration_round(args: &[Value]) -> Result {
    want("durationRound", args, 1)?;
    let d: i64 = match &args[0] {
        Value::String(s) => parse_duration(s).unwrap_or(0),
        // Sprig switches on the Go type: an `int` (a literal) is not an `int64`.
        Value::Int64(i) => *i,
        other => time_arg(other)
            .map(|t| (Utc::now() - t.utc).num_nanoseconds().unwrap_or(i64::MAX))
            .unwrap_or(0),
    };
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let units: [(u64, &str); 6] = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return Ok(Value::string(format!("{}{suffix}", u / size)));
        }
    }
    Ok(Value::string("0s"))
}

/// Go's `time.Duration.String()` for a number of nanoseconds.
pub fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let hours = secs_total / 3600;
        let minutes = (secs_total % 3600) / 60;
        let secs = secs_total % 60;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&frac_string(secs * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac_string(value: u64, div: u64) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let err = || format!("time: invalid duration \"{text}\"");
    let (neg, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let number = &s[..num_end];
        if number.is_empty() || number == "." {
            return Err(err());
        }
        let value: f64 = number.parse().map_err(|_| err())?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration \"{text}\"")),
            other => {
                return Err(format!(
                    "time: unknown unit \"{other}\" in duration \"{text}\""
                ));
            }
        };
        total += value * scale;
        s = &s[unit_end..];
    }
    let nanos = total.round() as i64;
    Ok(if neg { -nanos } else { nanos })
}

/// One element of a Go layout.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PmUpper,
    PmLower,
    TzName,
    /// Numeric zone: `Z` prefix for "Z when UTC", colon, with seconds, hours only.
    Zone {
        z: bool,
        colon: bool,
        seconds: bool,
        hours_only: bool,
    },
    /// Fractional seconds: digits, and whether trailing zeros are trimmed (`.999`).
    Fraction {
        digits: usize,
        trim: bool,
    },
}

fn tokenize(layout: &str) -> Vec<Token> {
    let table: &[(&str, Token)] = &[
        ("January", Token::LongMonth),
        ("Jan", Token::Month),
        ("Monday", Token::LongWeekDay),
        ("Mon", Token::WeekDay),
        ("MST", Token::TzName),
        ("2006", Token::LongYear),
        (
            "-07:00:00",
            Token::Zone {
                z: false,
                colon: true,
                seconds: true,
                hours_only: false,
            },
        ),
        (
            "-070000",
            Token::Zone {
                z: false,
                colon: false,
                seconds: true,
                hours_only: false,
            },
        ),
        (
            "-07:00",
            Token::Zone {
                z: false,
                colon: true,
                seconds: false,
                hours_only: false,
            },
        ),
        (
            "-0700",
            Token::Zone {
                z: false,
                colon: false,
                seconds: false,
                hours_only: false,
            },
        ),
        (
            "-07",
            Token::Zone {
                z: false,
                colon: false,
                seconds: false,
                hours_only: true,
            },
        ),
        (
            "Z07:00:00",
            Token::Zone {
                z: true,
                colon: true,
                seconds: true,
                hours_only: false,
            },
        ),
        (
            "Z070000",
            Token::Zone {
                z: true,
                colon: false,
                seconds: true,
                hours_only: false,
            },
        ),
        (
            "Z07:00",
            Token::Zone {
                z: true,
                colon: true,
                seconds: false,
                hours_only: false,
            },
        ),
        (
            "Z0700",
            Token::Zone {
                z: true,
                colon: false,
                seconds: false,
                hours_only: false,
            },
        ),
        (
            "Z07",
            Token::Zone {
                z: true,
                colon: false,
                seconds: false,
                hours_only: true,
            },
        ),
        ("002", Token::YearDay),
        ("01", Token::ZeroMonth),
        ("02", Token::ZeroDay),
        ("03", Token::ZeroHour12),
        ("04", Token::ZeroMinute),
        ("05", Token::ZeroSecond),
        ("06", Token::Year),
        ("15", Token::Hour),
        ("_2", Token::UnderDay),
        ("PM", Token::PmUpper),
        ("pm", Token::PmLower),
        ("1", Token::NumMonth),
        ("2", Token::Day),
        ("3", Token::Hour12),
        ("4", Token::Minute),
        ("5", Token::Second),
    ];
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        // Fractional seconds: `.000` / `,999` right after a seconds field.
        let bytes = rest.as_bytes();
        if (bytes[0] == b'.' || bytes[0] == b',')
            && bytes.len() > 1
            && (bytes[1] == b'0' || bytes[1] == b'9')
        {
            let digit = bytes[1];
            let n = bytes[1..].iter().take_while(|b| **b == digit).count();
            let after = bytes.get(1 + n);
            if !after.is_some_and(u8::is_ascii_digit) {
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Fraction {
                    digits: n,
                    trim: digit == b'9',
                });
                rest = &rest[1 + n..];
                continue;
            }
        }
        for (pattern, token) in table {
            if rest.starts_with(pattern) {
                // `Jan`/`Mon` followed by a lower-case letter are words, not fields.
                if matches!(
                    token,
                    Token::Month | Token::WeekDay | Token::LongMonth | Token::LongWeekDay
                ) && rest[pattern.len()..].starts_with(|c: char| c.is_ascii_lowercase())
                {
                    continue;
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(token.clone());
                rest = &rest[pattern.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    tokens
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's `Time.Format` of wall clock `t` in a zone whose abbreviation is `zone_name`
/// (empty for a fixed zone without a name: `MST` then prints the offset, `-0700`).
pub fn format_time(t: &DateTime<FixedOffset>, zone_name: &str, layout: &str) -> String {
    let offset = t.offset().local_minus_utc();
    let mut out = String::new();
    for token in tokenize(layout) {
        match token {
            Token::Literal(s) => out.push_str(&s),
            Token::LongMonth => out.push_str(MONTHS[t.month0() as usize]),
            Token::Month => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Token::NumMonth => out.push_str(&t.month().to_string()),
            Token::ZeroMonth => out.push_str(&format!("{:02}", t.month())),
            Token::LongWeekDay => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Token::WeekDay => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Token::Day => out.push_str(&t.day().to_string()),
            Token::UnderDay => out.push_str(&format!("{:>2}", t.day())),
            Token::ZeroDay => out.push_str(&format!("{:02}", t.day())),
            Token::YearDay => out.push_str(&format!("{:03}", t.ordinal())),
            Token::Hour => out.push_str(&format!("{:02}", t.hour())),
            Token::Hour12 => out.push_str(&hour12(t.hour()).to_string()),
            Token::ZeroHour12 => out.push_str(&format!("{:02}", hour12(t.hour()))),
            Token::Minute => out.push_str(&t.minute().to_string()),
            Token::ZeroMinute => out.push_str(&format!("{:02}", t.minute())),
            Token::Second => out.push_str(&t.second().to_string()),
            Token::ZeroSecond => out.push_str(&format!("{:02}", t.second())),
            Token::LongYear => out.push_str(&format!("{:04}", t.year())),
            Token::Year => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Token::PmUpper => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
            Token::PmLower => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
            Token::TzName if !zone_name.is_empty() => out.push_str(zone_name),
            Token::TzName => push_offset(&mut out, offset, false, false, false),
            Token::Zone {
                z,
                colon,
                seconds,
                hours_only,
            } => {
                if z && offset == 0 {
                    out.push('Z');
                } else {
                    push_offset(&mut out, offset, colon, seconds, hours_only);
                }
            }
            Token::Fraction { digits, trim } => {
                let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let cut = &nanos[..digits.min(9)];
                if trim {
                    let trimmed = cut.trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push('.');
                        out.push_str(trimmed);
                    }
                } else {
                    out.push('.');
                    out.push_str(cut);
                }
            }
        }
    }
    out
}

/// A zone offset as Go's layouts write it: `+0200`, `-07:00`, `+05`, `+053000`.
fn push_offset(out: &mut String, offset: i32, colon: bool, seconds: bool, hours_only: bool) {
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = offset.unsigned_abs();
    let minutes = abs / 60;
    out.push_str(&format!("{:02}", minutes / 60));
    if hours_only {
        return;
    }
    if colon {
        out.push(':');
    }
    out.push_str(&format!("{:02}", minutes % 60));
    if seconds {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", abs % 60));
    }
}

fn hour12(hour: u32) -> u32 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Go's `time.ParseInLocation` in the local zone (UTC), as Sprig's `toDate` calls it,
/// for the layout elements charts use. The zone follows Go's rules: `Z` is UTC, the
/// local offset (0) the local zone, another offset a fixed zone named by the text's
/// abbreviation (or nameless), an abbreviation alone a fixed zone at offset 0.
pub(crate) fn parse_layout(layout: &str, text: &str) -> std::result::Result<Time, String> {
    let fail = |elem: &str, rest: &str| {
        format!("parsing time \"{text}\" as \"{layout}\": cannot parse \"{rest}\" as \"{elem}\"")
    };
    let mut rest = text;
    // Go's year is 0 when the layout has none (`15:04` parses to 0000-01-01).
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut nanos) =
        (0i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset_secs: Option<i64> = None;
    let mut zulu = false;
    let mut zone_name: Option<&str> = None;
    let mut year_day: Option<u32> = None;
    fn take_digits(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        Some((s[..n].parse().ok()?, &s[n..]))
    }
    for token in tokenize(layout) {
        match token {
            Token::Literal(lit) => {
                rest = rest
                    .strip_prefix(lit.as_str())
                    .ok_or_else(|| fail(&lit, rest))?;
            }
            Token::LongYear => {
                let (v, r) = take_digits(rest, 4, 4).ok_or_else(|| fail("2006", rest))?;
                year = v as i32;
                rest = r;
            }
            Token::Year => {
                let (v, r) = take_digits(rest, 2, 2).ok_or_else(|| fail("06", rest))?;
                year = if v >= 69 {
                    1900 + v as i32
                } else {
                    2000 + v as i32
                };
                rest = r;
            }
            Token::ZeroMonth | Token::NumMonth => {
                let min = if token == Token::ZeroMonth { 2 } else { 1 };
                let (v, r) = take_digits(rest, min, 2).ok_or_else(|| fail("01", rest))?;
                month = v;
                rest = r;
            }
            Token::Month | Token::LongMonth => {
                let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                    let name = if token == Token::Month { &m[..3] } else { m };
                    rest.starts_with(name).then_some((i, name.len()))
                });
                let (i, len) = found.ok_or_else(|| fail("Jan", rest))?;
                month = i as u32 + 1;
                rest = &rest[len..];
            }
            Token::WeekDay | Token::LongWeekDay => {
                let found = DAYS.iter().find_map(|d| {
                    let name = if token == Token::WeekDay { &d[..3] } else { d };
                    rest.starts_with(name).then_some(name.len())
                });
                rest = &rest[found.ok_or_else(|| fail("Mon", rest))?..];
            }
            Token::ZeroDay | Token::Day | Token::UnderDay => {
                let trimmed = if token == Token::UnderDay {
                    rest.strip_prefix(' ').unwrap_or(rest)
                } else {
                    rest
                };
                let min = if token == Token::ZeroDay { 2 } else { 1 };
                let (v, r) = take_digits(trimmed, min, 2).ok_or_else(|| fail("02", rest))?;
                day = v;
                rest = r;
            }
            Token::YearDay => {
                let (v, r) = take_digits(rest, 3, 3).ok_or_else(|| fail("002", rest))?;
                year_day = Some(v);
                rest = r;
            }
            Token::Hour | Token::Hour12 | Token::ZeroHour12 => {
                let min = if token == Token::Hour12 { 1 } else { 2 };
                let (v, r) = take_digits(rest, min, 2).ok_or_else(|| fail("15", rest))?;
                hour = v;
                rest = r;
            }
            Token::Minute | Token::ZeroMinute => {
                let min = if token == Token::ZeroMinute { 2 } else { 1 };
                let (v, r) = take_digits(rest, min, 2).ok_or_else(|| fail("04", rest))?;
                minute = v;
                rest = r;
            }
            Token::Second | Token::ZeroSecond => {
                let min = if token == Token::ZeroSecond { 2 } else { 1 };
                let (v, r) = take_digits(rest, min, 2).ok_or_else(|| fail("05", rest))?;
                second = v;
                rest = r;
                // Go accepts fractional seconds after a seconds field even when the
                // layout has none.
                if let Some(frac) = rest.strip_prefix('.') {
                    let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                    if n > 0 {
                        let digits = format!("{:0<9}", &frac[..n.min(9)]);
                        nanos = digits.parse().unwrap_or(0);
                        rest = &frac[n..];
                    }
                }
            }
            Token::Fraction { digits, trim } => {
                if let Some(frac) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
                    let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                    if !trim && n != digits {
                        return Err(fail(".000", rest));
                    }
                    let padded = format!("{:0<9}", &frac[..n.min(9)]);
                    nanos = padded.parse().unwrap_or(0);
                    rest = &frac[n..];
                } else if !trim {
                    return Err(fail(".000", rest));
                }
            }
            Token::PmUpper | Token::PmLower => {
                let upper = rest.get(..2).map(str::to_ascii_uppercase);
                match upper.as_deref() {
                    Some("PM") => pm = Some(true),
                    Some("AM") => pm = Some(false),
                    _ => return Err(fail("PM", rest)),
                }
                rest = &rest[2..];
            }
            Token::TzName => {
                let n = rest.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(fail("MST", rest));
                }
                zone_name = Some(&rest[..n]);
                rest = &rest[n..];
            }
            Token::Zone {
                z,
                colon,
                seconds,
                hours_only,
            } => {
                if z && rest.starts_with('Z') {
                    rest = &rest[1..];
                    zulu = true;
                    continue;
                }
                let sign = match rest.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail("-07:00", rest)),
                };
                let mut r = &rest[1..];
                let (h, r2) = take_digits(r, 2, 2).ok_or_else(|| fail("-07:00", rest))?;
                r = r2;
                let mut m = 0;
                let mut s = 0;
                if !hours_only {
                    if colon {
                        r = r.strip_prefix(':').ok_or_else(|| fail("-07:00", rest))?;
                    }
                    let (v, r3) = take_digits(r, 2, 2).ok_or_else(|| fail("-07:00", rest))?;
                    m = v;
                    r = r3;
                    if seconds {
                        if colon {
                            r = r.strip_prefix(':').ok_or_else(|| fail("-07:00", rest))?;
                        }
                        let (v, r4) = take_digits(r, 2, 2).ok_or_else(|| fail("-07:00", rest))?;
                        s = v;
                        r = r4;
                    }
                }
                offset_secs = Some(sign * i64::from(h * 3600 + m * 60 + s));
                rest = r;
            }
        }
    }
    if !rest.is_empty() {
        return Err(format!("parsing time \"{text}\": extra text: \"{rest}\""));
    }
    if let Some(pm) = pm {
        if hour > 12 {
            return Err(format!("parsing time \"{text}\": hour out of range"));
        }
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time \"{text}\": month out of range"));
    }
    if let Some(year_day) = year_day {
        // The day of the year gives the month and day (Go checks them against a month
        // and day also parsed; charts do not give both).
        let date = NaiveDate::from_yo_opt(year, year_day)
            .ok_or_else(|| format!("parsing time \"{text}\": day-of-year out of range"))?;
        (month, day) = (date.month(), date.day());
    }
    let naive = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("parsing time \"{text}\": day out of range"))?
        .and_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| format!("parsing time \"{text}\": hour out of range"))?;
    let wall = Utc.from_utc_datetime(&naive);
    let name = zone_name.unwrap_or_default();
    let (utc, zone) = match (zulu, offset_secs) {
        (true, _) => (wall, Zone::Utc),
        (false, Some(offset)) => (
            wall - chrono::Duration::seconds(offset),
            Zone::fixed(name, i32::try_from(offset).unwrap_or_default()),
        ),
        // An abbreviation alone: the local zone's, or a zone of unknown offset whose
        // wall clock Go keeps as if it were UTC.
        (false, None) => (wall, Zone::fixed(name, 0)),
    };
    Ok(Time { utc, zone })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go() {
        assert_eq!(format_duration(95_000_000_000), "1m35s");
        assert_eq!(format_duration(3_700_000_000_000), "1h1m40s");
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
    }

    #[test]
    fn times_keep_their_zones_as_go_does() {
        // toDate with an offset other than the local one: Go's nameless fixed zone.
        let t = parse_layout("2006-01-02T15:04:05Z07:00", "2021-12-31T23:59:59+02:00").unwrap();
        assert_eq!(t.go_string(), "2021-12-31 23:59:59 +0200 +0200");
        let utc = parse_layout("2006-01-02T15:04:05Z07:00", "2021-12-31T23:59:59+00:00").unwrap();
        assert_eq!(utc.go_string(), "2021-12-31 23:59:59 +0000 UTC");
        let clock = parse_layout("15:04", "10:30").unwrap();
        assert_eq!(clock.go_string(), "0000-01-01 10:30:00 +0000 UTC");
        let named = parse_layout("2006-01-02 MST", "2024-01-02 CET").unwrap();
        assert_eq!(named.go_string(), "2024-01-02 00:00:00 +0000 CET");
        // dateInZone converts to named zones, with their summer time.
        let date = time_value(parse_layout("2006-01-02", "2024-07-05").unwrap().utc);
        assert_eq!(
            format_in_zone("2006-01-02 15:04 MST", &date, "America/New_York"),
            "2024-07-04 20:00 EDT"
        );
        assert_eq!(format_in_zone("15:04 MST", &date, "Etc/GMT+3"), "21:00 -03");
        assert_eq!(
            format_in_zone("15:04 MST", &date, "Asia/Kolkata"),
            "05:30 IST"
        );
        assert_eq!(format_in_zone("15:04 MST", &date, "Nope/Zone"), "00:00 UTC");
    }

    #[test]
    fn zone_names_are_read_from_the_machines_zone_files_first() {
        // Go's time.LoadLocation reads /usr/share/zoneinfo before any built-in copy, so
        // names that are only files there load in Helm (found in session 9).
        if !std::path::Path::new("/usr/share/zoneinfo/posix/Europe/Paris").exists() {
            return; // no zone files here: Go's LoadLocation would not find them either
        }
        let date = time_value(Utc.timestamp_opt(0, 0).unwrap());
        assert_eq!(
            format_in_zone("15:04 MST", &date, "posix/Europe/Paris"),
            "01:00 CET"
        );
        assert_eq!(
            format_in_zone("15:04 MST", &date, "posixrules"),
            "19:00 EST"
        );
        // Go refuses names with two dots or a leading slash before reading any file.
        assert_eq!(
            format_in_zone("15:04 MST", &date, "../zoneinfo/Europe/Paris"),
            "00:00 UTC"
        );
        assert_eq!(
            format_in_zone("15:04 MST", &date, "/usr/share/zoneinfo/Europe/Paris"),
            "00:00 UTC"
        );
        // A file that is not TZif is no zone.
        assert_eq!(format_in_zone("15:04 MST", &date, "zone.tab"), "00:00 UTC");
    }

    #[test]
    fn layouts_format_and_parse() {
        let t = Time::utc(Utc.timestamp_opt(0, 0).unwrap());
        assert_eq!(
            t.format("2006-01-02 Mon Jan _2 15:04:05.000 MST -0700 PM"),
            "1970-01-01 Thu Jan  1 00:00:00.000 UTC +0000 AM"
        );
        let parsed = parse_layout("2006-01-02", "2024-02-03").unwrap();
        assert_eq!(parsed.utc.timestamp(), 1706918400);
        assert_eq!(parsed.go_string(), "2024-02-03 00:00:00 +0000 UTC");
    }
}
