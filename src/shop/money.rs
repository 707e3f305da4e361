//! Money as integers, never floats: US cents for prices, satoshis (10⁸ to one BCH) for
//! what an agent pays. Conversions round up, so the shop is never paid less than its
//! price.

pub const SATS_PER_BCH: i64 = 100_000_000;

/// What `cost_cents` plus `margin_percent` comes to in satoshis when one BCH is worth
/// `cents_per_bch`, rounded up; `None` for a rate of zero or an amount out of range.
pub fn sats_for(cost_cents: i64, margin_percent: u32, cents_per_bch: i64) -> Option<i64> {
    if cost_cents < 0 || cents_per_bch <= 0 {
        return None;
    }
    let numerator =
        i128::from(cost_cents) * i128::from(100 + margin_percent) * i128::from(SATS_PER_BCH);
    let denominator = 100 * i128::from(cents_per_bch);
    let sats = (numerator + denominator - 1) / denominator;
    i64::try_from(sats).ok()
}

/// `sats` as a BCH amount with `decimals` places (at most 8), rounded up: `12345678`
/// is `"0.123457"` with 6.
pub fn bch_text(sats: i64, decimals: u32) -> String {
    let decimals = decimals.min(8);
    let unit = 10_i64.pow(8 - decimals);
    let rounded = (sats + unit - 1) / unit;
    let scale = 10_i64.pow(decimals);
    if decimals == 0 {
        return rounded.to_string();
    }
    format!(
        "{}.{:0width$}",
        rounded / scale,
        rounded % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_in_satoshis_round_up() {
        // $10.00 at 40 % margin is $14.00; at $350.00 a BCH that is 0.04 BCH.
        assert_eq!(sats_for(1000, 40, 35_000), Some(4_000_000));
        // $0.01 at $350.00: 2857.14… satoshis, rounded up.
        assert_eq!(sats_for(1, 0, 35_000), Some(2858));
        assert_eq!(sats_for(1000, 40, 0), None);
        assert_eq!(sats_for(-1, 40, 35_000), None);
    }

    #[test]
    fn bch_amounts_as_text() {
        assert_eq!(bch_text(12_345_678, 6), "0.123457");
        assert_eq!(bch_text(12_345_678, 8), "0.12345678");
        assert_eq!(bch_text(4_000_000, 6), "0.040000");
        assert_eq!(bch_text(0, 6), "0.000000");
        assert_eq!(bch_text(250_000_000, 6), "2.500000");
    }
}
