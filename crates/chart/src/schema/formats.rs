//! Why a string fails a `format`, in santhosh-tekuri/jsonschema v6's words (Helm
//! prints `'x' is not valid email: missing @`). For the formats in [`PORTED`] the checks
//! here decide whether a value fails (the validator's own, ported with the Go library
//! calls they make: `netip.ParseAddr`, `time.Parse`, `url.Parse`...); the jsonschema
//! crate decides the others. `None`: a failure not worded as Helm does.

use crate::funcs::gofmt;

/// The reason `value` is not a valid `format`, as Helm words it.
pub(super) fn reason(format: &str, value: &str) -> Option<String> {
    checker(format)?(value).err().flatten()
}

/// The formats whose checks are ported from the validator Helm v4.2 links, which
/// replace the jsonschema crate's own (so that both accept and refuse the same
/// strings: `+1.2.3.4` is an IPv4 address to Go's `strconv.Atoi`, `uuid` and
/// `duration` are checked whatever the draft, `idn-email` is no format Helm knows).
pub(super) const PORTED: &[&str] = &[
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
    "duration",
    "time",
    "date",
    "date-time",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "json-pointer",
    "period",
    "semver",
    "regex",
    "idn-email",
    "idn-hostname",
];

/// Whether `value` is a valid `format`, for a format in [`PORTED`] (those without a
/// check accept every string, as Helm's validator does).
pub(super) fn valid(format: &str, value: &str) -> bool {
    checker(format).is_none_or(|check| check(value).is_ok())
}

/// A format's ported check.
type FormatCheck = fn(&str) -> Check;

/// The ported check of each format, by name.
const CHECKS: &[(&str, FormatCheck)] = &[
    ("email", email),
    ("hostname", hostname),
    ("ipv4", ipv4),
    ("ipv6", ipv6),
    ("uuid", uuid),
    ("duration", duration),
    ("time", time),
    ("date", date),
    ("date-time", date_time),
    ("uri", absolute_uri),
    ("iri", absolute_uri),
    ("uri-reference", uri_reference),
    ("iri-reference", uri_reference),
    ("uri-template", uri_template),
    ("json-pointer", json_pointer),
    ("period", period),
    ("semver", semver),
    ("regex", regex),
];

fn checker(format: &str) -> Option<FormatCheck> {
    CHECKS
        .iter()
        .find(|(name, _)| *name == format)
        .map(|&(_, check)| check)
}

/// `Err(Some(reason))`: invalid, worded; `Err(None)`: invalid in words not ported.
type Check = Result<(), Option<String>>;

fn fail(reason: impl Into<String>) -> Check {
    Err(Some(reason.into()))
}

fn email(s: &str) -> Check {
    if s.len() > 254 {
        return fail("more than 255 characters long");
    }
    let Some(at) = s.rfind('@') else {
        return fail("missing @");
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return fail("local part more than 64 characters long");
    }
    if local.len() > 1 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return fail("backslash and quote are not allowed within quoted local part");
        }
    } else {
        if local.starts_with('.') {
            return fail("starts with dot");
        }
        if local.ends_with('.') {
            return fail("ends with dot");
        }
        if local.contains("..") {
            return fail("consecutive dots");
        }
        if let Some(c) = local
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !".!#$%&'*+-/=?^_`{|}~".contains(*c))
        {
            return fail(format!(
                "invalid character {}",
                crate::template::fmt::quote_rune(c)
            ));
        }
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() >= 2 {
        let inner = &domain[1..domain.len() - 1];
        if inner.starts_with("IPv6:") {
            return Err(None);
        }
        return ipv4(inner).map_err(|e| e.map(|r| format!("invalid ipv4 address: {r}")));
    }
    hostname(domain).map_err(|e| e.map(|r| format!("invalid domain: {r}")))
}

fn hostname(s: &str) -> Check {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return fail("more than 253 characters long");
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return fail("label must be 1 to 63 characters long");
        }
        if label.starts_with('-') {
            return fail("label starts with hyphen");
        }
        if label.ends_with('-') {
            return fail("label ends with hyphen");
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return fail(format!(
                "invalid character {}",
                crate::template::fmt::quote_rune(c)
            ));
        }
    }
    Ok(())
}

fn ipv4(s: &str) -> Check {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return fail("expected four decimals");
    }
    for group in groups {
        if group.len() > 1 && group.starts_with('0') {
            return fail("leading zeros");
        }
        let n = go_atoi(group)?;
        if !(0..=255).contains(&n) {
            return fail("decimal must be between 0 and 255");
        }
    }
    Ok(())
}

/// The validator's ipv6 check: a colon, then Go's `netip.ParseAddr`, and no zone.
fn ipv6(s: &str) -> Check {
    if !s.contains(':') {
        return fail("missing colon");
    }
    let zone = parse_addr(s).map_err(|(message, at)| {
        let at = at.map(|at| format!(" (at {})", gofmt::quote(at)));
        let at = at.unwrap_or_default();
        Some(format!("ParseAddr({}): {message}{at}", gofmt::quote(s)))
    })?;
    if zone {
        return fail("zone id is not a part of ipv6 address");
    }
    Ok(())
}

/// Why Go's `netip.ParseAddr` refuses an address: its words, and the rest of the text
/// it stopped at when it says.
type AddrError<'s> = (String, Option<&'s str>);

/// Go's `netip.ParseAddr`: the first `.`, `:` or `%` says which form; `Ok(true)` for an
/// IPv6 address with a zone.
fn parse_addr(s: &str) -> Result<bool, AddrError<'_>> {
    match s.bytes().find(|b| matches!(b, b'.' | b':' | b'%')) {
        Some(b'.') => parse_ipv4_addr(s).map(|()| false),
        Some(b':') => parse_ipv6_addr(s),
        Some(_) => Err(("missing IPv6 address".into(), None)),
        None => Err(("unable to parse IP".into(), None)),
    }
}

/// Go's `netip.parseIPv4`.
fn parse_ipv4_addr(s: &str) -> Result<(), AddrError<'_>> {
    let bytes = s.as_bytes();
    let (mut value, mut fields, mut digits) = (0u32, 0, 0);
    for (i, &c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() {
            if digits == 1 && value == 0 {
                return Err(("IPv4 field has octet with leading zero".into(), None));
            }
            value = value * 10 + u32::from(c - b'0');
            digits += 1;
            if value > 255 {
                return Err(("IPv4 field has value >255".into(), None));
            }
        } else if c == b'.' {
            if i == 0 || i == bytes.len() - 1 || bytes[i - 1] == b'.' {
                let message = "IPv4 field must have at least one digit";
                return Err((message.into(), Some(&s[i..])));
            }
            if fields == 3 {
                return Err(("IPv4 address too long".into(), None));
            }
            fields += 1;
            value = 0;
            digits = 0;
        } else {
            return Err(("unexpected character".into(), Some(&s[i..])));
        }
    }
    if fields < 3 {
        return Err(("IPv4 address too short".into(), None));
    }
    Ok(())
}

/// Go's `netip.parseIPv6` (Go 1.26, as Helm v4.2 is built): sixteen bytes of hex fields
/// of up to four digits, one `::`, an IPv4 address in the last four; `Ok(true)` when a
/// zone follows `%`.
fn parse_ipv6_addr(input: &str) -> Result<bool, AddrError<'_>> {
    let (mut s, zone) = match input.split_once('%') {
        Some((_, "")) => return Err(("zone must be a non-empty string".into(), None)),
        Some((address, _)) => (address, true),
        None => (input, false),
    };
    let mut ellipsis: Option<usize> = None;
    if let Some(rest) = s.strip_prefix("::") {
        ellipsis = Some(0);
        s = rest;
        if s.is_empty() {
            return Ok(zone);
        }
    }
    let mut i = 0;
    while i < 16 {
        let digits = s.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits > 4 {
            return Err(("each group must have 4 or less digits".into(), Some(s)));
        }
        if digits == 0 {
            let message = "each colon-separated field must have at least one digit";
            return Err((message.into(), Some(s)));
        }
        if s.as_bytes().get(digits) == Some(&b'.') {
            if ellipsis.is_none() && i != 12 {
                let message =
                    "embedded IPv4 address must replace the final 2 fields of the address";
                return Err((message.into(), Some(s)));
            }
            if i + 4 > 16 {
                let message =
                    "too many hex fields to fit an embedded IPv4 at the end of the address";
                return Err((message.into(), Some(s)));
            }
            // Go 1.26 parses the embedded address in place: its errors as they are.
            parse_ipv4_addr(s)?;
            s = "";
            i += 4;
            break;
        }
        i += 2;
        s = &s[digits..];
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') {
            return Err(("unexpected character, want colon".into(), Some(s)));
        }
        if s.len() == 1 {
            return Err(("colon must be followed by more characters".into(), Some(s)));
        }
        s = &s[1..];
        if s.starts_with(':') {
            if ellipsis.is_some() {
                return Err(("multiple :: in address".into(), Some(s)));
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(("trailing garbage after address".into(), Some(s)));
    }
    match (i < 16, ellipsis) {
        (true, None) => Err(("address string too short".into(), None)),
        (false, Some(_)) => Err((
            "the :: must expand to at least one field of zeros".into(),
            None,
        )),
        _ => Ok(zone),
    }
}

/// Go's `strconv.Atoi`, its errors in Go's words.
fn go_atoi(s: &str) -> Result<i64, Option<String>> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let why = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        "invalid syntax"
    } else {
        match s.parse::<i64>() {
            Ok(n) => return Ok(n),
            Err(_) => "value out of range",
        }
    };
    Err(Some(format!(
        "strconv.Atoi: parsing {}: {why}",
        gofmt::quote(s)
    )))
}

fn uuid(s: &str) -> Check {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != GROUPS.len() {
        return fail(format!("must have {} elements", GROUPS.len()));
    }
    for (i, group) in groups.iter().enumerate() {
        if group.len() != GROUPS[i] {
            return fail(format!(
                "element {} must be {} characters long",
                i + 1,
                GROUPS[i]
            ));
        }
        if let Some(c) = group.chars().find(|c| !c.is_ascii_hexdigit()) {
            return fail(format!(
                "non-hex character {}",
                crate::template::fmt::quote_rune(c)
            ));
        }
    }
    Ok(())
}

fn duration(s: &str) -> Check {
    let Some(s) = s.strip_prefix('P') else {
        return fail("must start with P");
    };
    if s.is_empty() {
        return fail("nothing after P");
    }
    if let Some(weeks) = s.strip_suffix('W') {
        if weeks.is_empty() {
            return fail("no number in week");
        }
        if !weeks.bytes().all(|b| b.is_ascii_digit()) {
            return fail("invalid week");
        }
        return Ok(());
    }
    const ALL_UNITS: [&str; 2] = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return fail("no time elements");
        }
        if i >= ALL_UNITS.len() {
            return fail("more than one T");
        }
        let mut units = ALL_UNITS[i];
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return fail("missing number");
            }
            rest = &rest[digits..];
            let Some(unit) = rest.chars().next() else {
                return fail("missing unit");
            };
            match units.find(unit) {
                Some(j) => units = &units[j + 1..],
                None if ALL_UNITS[i].contains(unit) => {
                    return fail(format!(
                        "unit {} out of order",
                        crate::template::fmt::quote_rune(unit)
                    ));
                }
                None => {
                    return fail(format!(
                        "invalid unit {}",
                        crate::template::fmt::quote_rune(unit)
                    ));
                }
            }
            rest = &rest[unit.len_utf8()..];
        }
    }
    Ok(())
}

fn time(s: &str) -> Check {
    let bytes = s.as_bytes();
    if bytes.len() < 9 {
        return fail("less than 9 characters long");
    }
    if bytes[2] != b':' || bytes[5] != b':' {
        return fail("missing colon in correct place");
    }
    let Some(head) = s.get(..8) else {
        return Err(None);
    };
    let mut hms = Vec::new();
    for token in head.splitn(3, ':') {
        let n = go_atoi(token).map_err(|_| Some("invalid hour/min/sec".to_string()))?;
        if n < 0 {
            return fail("non-positive hour/min/sec");
        }
        hms.push(n);
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return fail("hour/min/sec out of range");
    }
    let mut rest = &s[8..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return fail("no digits in second fraction");
        }
        rest = &fraction[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return fail("offset must be 6 characters long");
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return fail("offset must begin with plus/minus"),
        };
        let offset = &rest[1..];
        if offset.as_bytes()[2] != b':' {
            return fail("missing colon in offset in correct place");
        }
        let mut zhm = Vec::new();
        for token in offset.splitn(2, ':') {
            let n = go_atoi(token).map_err(|_| Some("invalid hour/min in offset".to_string()))?;
            if n < 0 {
                return fail("non-positive hour/min in offset");
            }
            zhm.push(n);
        }
        if zhm[0] > 23 || zhm[1] > 59 {
            return fail("hour/min in offset out of range");
        }
        let mut minutes = (h * 60 + m) + sign * (zhm[0] * 60 + zhm[1]);
        if minutes < 0 {
            minutes += 24 * 60;
        }
        (h, m) = (minutes / 60, minutes % 60);
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return fail("invalid leap second");
    }
    Ok(())
}

fn date_time(s: &str) -> Check {
    if s.len() < 20 {
        return fail("less than 20 characters long");
    }
    let eleventh = s.as_bytes()[10];
    if eleventh != b't' && eleventh != b'T' {
        return fail("11th character must be t or T");
    }
    date(s.get(..10).ok_or(None)?).map_err(|e| e.map(|r| format!("invalid date element: {r}")))?;
    time(s.get(11..).ok_or(None)?).map_err(|e| e.map(|r| format!("invalid time element: {r}")))
}

/// Go's `time.Parse("2006-01-02", s)`, element by element, in its words.
fn date(s: &str) -> Check {
    let cannot_parse = |value: &str, element: &str| {
        fail(format!(
            "parsing time {} as \"2006-01-02\": cannot parse {} as \"{element}\"",
            time_quote(s),
            time_quote(value)
        ))
    };
    let Some(year) = s.get(..4).and_then(four_digit_year) else {
        return cannot_parse(s, "2006");
    };
    let Some(rest) = s[4..].strip_prefix('-') else {
        return cannot_parse(&s[4..], "-");
    };
    let Some(month) = two_digits(rest) else {
        return cannot_parse(rest, "01");
    };
    if !(1..=12).contains(&month) {
        return fail(format!(
            "parsing time {}: month out of range",
            time_quote(s)
        ));
    }
    let Some(rest) = rest[2..].strip_prefix('-') else {
        return cannot_parse(&rest[2..], "-");
    };
    let Some(day) = two_digits(rest) else {
        return cannot_parse(rest, "02");
    };
    if rest.len() > 2 {
        let extra = time_quote(&rest[2..]);
        return fail(format!(
            "parsing time {}: extra text: {extra}",
            time_quote(s)
        ));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days).contains(&day) {
        return fail(format!("parsing time {}: day out of range", time_quote(s)));
    }
    Ok(())
}

/// A year as the time package reads `2006`: four digits.
fn four_digit_year(text: &str) -> Option<i64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().unwrap_or(0))
}

/// The time package's `getnum(s, true)`: exactly two digits first.
fn two_digits(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    match (b.first(), b.get(1)) {
        (Some(a @ b'0'..=b'9'), Some(c @ b'0'..=b'9')) => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

/// The time package's own `quote` as Helm v4.2's engine prints it: bytes below a space
/// or outside ASCII as `\\xNN` each, the rest as it is.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
    }
    out.push('"');
    out
}

/// The validator's uri-template check: Go's `url.Parse`, then each `/`-separated part
/// of the raw path with its braces paired, one level deep.
fn uri_template(s: &str) -> Check {
    crate::funcs::misc::go_url_check(s).map_err(Some)?;
    let path = raw_path(s);
    // Go keeps `RawPath` only when the path is not written as it would escape it.
    if escape_path(&percent_decoded(path)) == path {
        return Ok(());
    }
    for token in path.split('/') {
        let mut open = false;
        for c in String::from_utf8_lossy(&percent_decoded(token)).chars() {
            match c {
                '{' | '}' if (c == '{') == open => return fail("nested curly braces"),
                '{' => open = true,
                '}' => open = false,
                _ => {}
            }
        }
        if open {
            return fail("no matching closing brace");
        }
    }
    Ok(())
}

/// The path of a URL as Go's `url.Parse` splits it off (before `?` and `#`, after the
/// scheme and `//authority`); empty for an opaque URL (`mailto:x`).
fn raw_path(s: &str) -> &str {
    let s = s.split(['#', '?']).next().unwrap_or_default();
    let rest = match s.split_once(':') {
        Some((scheme, rest))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            if !rest.starts_with('/') {
                return "";
            }
            rest
        }
        _ => s,
    };
    match rest.strip_prefix("//") {
        Some(after) => after.find('/').map_or("", |at| &after[at..]),
        None => rest,
    }
}

/// Go's `url.PathEscape`-like `escape(path, encodePath)`: all but unreserved characters
/// and `$&+,/:;=@` as `%XX`.
fn escape_path(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes decoded (the text is known to parse as a URL).
fn percent_decoded(token: &str) -> Vec<u8> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn absolute_uri(s: &str) -> Check {
    uri(s, false)
}

fn uri_reference(s: &str) -> Check {
    uri(s, true)
}

fn uri(s: &str, reference: bool) -> Check {
    // The validator Helm v4.2 links checks Go's url.Parse only (later versions also
    // refuse non-ASCII and some ASCII characters first).
    crate::funcs::misc::go_url_check(s).map_err(Some)?;
    let scheme_end = s
        .find(':')
        .filter(|&i| {
            i > 0
                && s.as_bytes()[0].is_ascii_alphabetic()
                && s[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        })
        .filter(|&i| !s[..i].contains(['/', '?', '#']));
    if !reference && scheme_end.is_none() {
        return fail("relative url");
    }
    Ok(())
}

fn period(s: &str) -> Check {
    let Some((start, end)) = s.split_once('/') else {
        return fail("missing slash");
    };
    let within = |what: &'static str, check: Check| {
        check.map_err(|e| e.map(|r| format!("invalid {what}: {r}")))
    };
    if start.starts_with('P') {
        within("start duration", duration(start))?;
        within("end date-time", date_time(end))
    } else {
        within("start date-time", date_time(start))?;
        if end.starts_with('P') {
            within("end duration", duration(end))
        } else {
            within("end date-time", date_time(end))
        }
    }
}

fn semver(s: &str) -> Check {
    let identifier_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut core = s;
    if let Some((before, build)) = s.split_once('+') {
        if build.is_empty() {
            return fail("build is empty");
        }
        for id in build.split('.') {
            if id.is_empty() {
                return fail("build identifier is empty");
            }
            if let Some(c) = id.chars().find(|c| !identifier_char(*c)) {
                return fail(format!(
                    "invalid character {} in build identifier",
                    crate::template::fmt::quote_rune(c)
                ));
            }
        }
        core = before;
    }
    if let Some((before, pre)) = core.split_once('-') {
        for id in pre.split('.') {
            if id.is_empty() {
                return fail("pre-release identifier is empty");
            }
            if let Some(c) = id.chars().find(|c| !identifier_char(*c)) {
                return fail(format!(
                    "invalid character {} in pre-release identifier",
                    crate::template::fmt::quote_rune(c)
                ));
            }
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return fail("pre-release numeric identifier starts with zero");
            }
        }
        core = before;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return fail("versionCore must have 3 numbers separated by dot");
    }
    for (part, name) in parts.iter().zip(["major", "minor", "patch"]) {
        if part.is_empty() {
            return fail(format!("{name} is empty"));
        }
        if part.len() > 1 && part.starts_with('0') {
            return fail(format!("{name} starts with zero"));
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return fail(format!("{name} contains non-digit"));
        }
    }
    Ok(())
}

/// Go's `regexp.Compile`, its errors in Go's words.
fn regex(s: &str) -> Check {
    match super::go_regexp::compile_error(s) {
        Some(error) => fail(error),
        None => Ok(()),
    }
}

fn json_pointer(s: &str) -> Check {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return fail("not starting with /");
    }
    for token in s.split('/').skip(1) {
        let mut escape = false;
        for c in token.chars() {
            if escape {
                escape = false;
                if c != '0' && c != '1' {
                    return fail("~ must be followed by 0 or 1");
                }
                continue;
            }
            if c == '~' {
                escape = true;
            }
        }
        if escape {
            return fail("~ must be followed by 0 or 1");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn ipv6_and_date_reasons_read_as_go_words_them() {
        // Helm v4.2's engine on a draft-07 schema, session 11.
        let cases = [
            ("ipv6", "1.2.3.4", "missing colon"),
            (
                "ipv6",
                "fe80::1%eth0",
                "zone id is not a part of ipv6 address",
            ),
            (
                "ipv6",
                "12345::1",
                r#"ParseAddr("12345::1"): each group must have 4 or less digits (at "12345::1")"#,
            ),
            (
                "ipv6",
                "1::2::3",
                r#"ParseAddr("1::2::3"): multiple :: in address (at ":3")"#,
            ),
            (
                "ipv6",
                "::1.2.3.04",
                r#"ParseAddr("::1.2.3.04"): IPv4 field has octet with leading zero"#,
            ),
            (
                "ipv6",
                "1.2.3.4:5",
                r#"ParseAddr("1.2.3.4:5"): unexpected character (at ":5")"#,
            ),
            (
                "ipv6",
                "1:2:3:4:5:6:7:8::",
                r#"ParseAddr("1:2:3:4:5:6:7:8::"): the :: must expand to at least one field of zeros"#,
            ),
            (
                "date",
                "2024-1-01",
                r#"parsing time "2024-1-01" as "2006-01-02": cannot parse "1-01" as "01""#,
            ),
            (
                "date",
                "+024-01-01",
                r#"parsing time "+024-01-01" as "2006-01-02": cannot parse "+024-01-01" as "2006""#,
            ),
            (
                "date",
                "2024-01-01T00:00:00Z",
                r#"parsing time "2024-01-01T00:00:00Z": extra text: "T00:00:00Z""#,
            ),
            (
                "date",
                "2024-01-0\u{e9}",
                r#"parsing time "2024-01-0\xc3\xa9" as "2006-01-02": cannot parse "0\xc3\xa9" as "02""#,
            ),
            (
                "date-time",
                "2024/01/01T00:00:00Z",
                r#"invalid date element: parsing time "2024/01/01" as "2006-01-02": cannot parse "/01/01" as "-""#,
            ),
        ];
        for (format, value, want) in cases {
            assert_eq!(
                reason(format, value).as_deref(),
                Some(want),
                "{format} {value:?}"
            );
        }
        let template = [
            ("http://x/{a", "no matching closing brace"),
            ("http://x/{a}}", "nested curly braces"),
            ("::x", r#"parse "::x": missing protocol scheme"#),
        ];
        for (value, want) in template {
            assert_eq!(
                reason("uri-template", value).as_deref(),
                Some(want),
                "{value:?}"
            );
        }
        // Escaped braces are not checked (Go keeps no raw path for them).
        assert!(super::valid("uri-template", "http://x/%7Ba"));
        assert!(super::valid("uri-template", "http://x/{a}?q={b"));
        assert_eq!(reason("ipv6", "::ffff:1.2.3.4"), None);
        assert_eq!(reason("date", "2000-02-29"), None);
    }

    #[test]
    fn reasons_read_as_helms_validator_words_them() {
        let cases = [
            ("email", "not-an-email", "missing @"),
            ("email", "a..b@x.com", "consecutive dots"),
            (
                "email",
                "a@-x.com",
                "invalid domain: label starts with hyphen",
            ),
            ("ipv4", "999.1.1.1", "decimal must be between 0 and 255"),
            ("ipv4", "1.2.3", "expected four decimals"),
            ("ipv4", "01.2.3.4", "leading zeros"),
            (
                "ipv4",
                "a.2.3.4",
                "strconv.Atoi: parsing \"a\": invalid syntax",
            ),
            ("hostname", "a_b", "invalid character '_'"),
            ("uuid", "1234", "must have 5 elements"),
            ("duration", "P1S", "invalid unit 'S'"),
            ("date-time", "yesterday", "less than 20 characters long"),
            (
                "date-time",
                "2024-01-01X00:00:00Z",
                "11th character must be t or T",
            ),
            (
                "date-time",
                "2024-01-01T25:00:00Z",
                "invalid time element: hour/min/sec out of range",
            ),
            (
                "uri",
                "::not a uri",
                "parse \"::not a uri\": missing protocol scheme",
            ),
            (
                "date",
                "2024-13-01",
                "parsing time \"2024-13-01\": month out of range",
            ),
            (
                "date-time",
                "2023-02-29T00:00:00Z",
                "invalid date element: parsing time \"2023-02-29\": day out of range",
            ),
            ("ipv6", "1.2.3.4", "missing colon"),
            (
                "semver",
                "1.0",
                "versionCore must have 3 numbers separated by dot",
            ),
            (
                "semver",
                "1.0.0-01",
                "pre-release numeric identifier starts with zero",
            ),
            ("period", "x", "missing slash"),
            (
                "regex",
                "(a",
                "error parsing regexp: missing closing ): `(a`",
            ),
            ("uri", "::x", "parse \"::x\": missing protocol scheme"),
            ("uri", "a/b", "relative url"),
        ];
        for (format, value, want) in cases {
            assert_eq!(
                reason(format, value).as_deref(),
                Some(want),
                "{format} {value}"
            );
        }
        assert_eq!(reason("uri", "https://example.com/x"), None);
        assert!(super::valid("ipv4", "+1.2.3.4"));
        assert!(super::valid("uri", "http://ü"));
        assert!(super::valid("idn-email", "x"));
        assert!(!super::valid("uuid", "1234"));
        assert!(!super::valid("date", "2024-1-01"));
    }
}
