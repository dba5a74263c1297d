//! Billing months: a reseller is billed per enterprise for the PBX users configured at any
//! time during a calendar month, in UTC (a user set up on the 31st at 23:59 UTC counts for
//! that month, and again for the next if it is still configured then).

use std::fmt;

const MS_PER_DAY: i64 = 86_400_000;

/// A calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1 to 12.
    month: u8,
}

impl Month {
    pub fn new(year: i32, month: u8) -> Option<Self> {
        ((1..=12).contains(&month) && (1970..=9999).contains(&year)).then_some(Self { year, month })
    }

    /// `2026-11`, as the billing page and its CSV name a month.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// The month an instant (Unix milliseconds) falls in.
    pub fn containing(ms: i64) -> Self {
        let (year, month, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
        Self { year, month }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// Its first millisecond.
    pub fn start_ms(self) -> i64 {
        days_from_civil(self.year, self.month, 1) * MS_PER_DAY
    }

    /// The first millisecond after it.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// "November 2026".
    pub fn label(self) -> String {
        const NAMES: [&str; 12] = [
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
        format!("{} {}", NAMES[usize::from(self.month - 1)], self.year)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// One enterprise's line of a month's billing summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingLine {
    pub enterprise_id: crate::ids::EnterpriseId,
    pub enterprise: String,
    /// When the enterprise was added (it is billed only from then).
    pub added_ms: i64,
    /// PBX users configured at any time during the month: what is billed.
    pub configured_users: u64,
    /// Of those, configured at the month's end (or now, for the current month).
    pub configured_at_end: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_and_end_on_utc_midnight_across_leap_years_and_new_year() {
        let nov = Month::parse("2026-11").unwrap();
        assert_eq!(nov.start_ms(), 1_793_491_200_000); // 2026-11-01T00:00:00Z
        assert_eq!(nov.end_ms(), 1_796_083_200_000); // 2026-12-01T00:00:00Z
        assert_eq!(Month::containing(nov.end_ms() - 1), nov);
        assert_eq!(Month::containing(nov.end_ms()), nov.next());
        let feb = Month::new(2028, 2).unwrap();
        assert_eq!((feb.end_ms() - feb.start_ms()) / MS_PER_DAY, 29);
        assert_eq!(
            Month::new(2026, 12).unwrap().next(),
            Month::new(2027, 1).unwrap()
        );
        assert_eq!(
            Month::new(2027, 1).unwrap().previous().to_string(),
            "2026-12"
        );
        assert_eq!(Month::containing(0).to_string(), "1970-01");
        assert_eq!(nov.label(), "November 2026");
    }

    #[test]
    fn only_a_year_and_month_parse() {
        for bad in ["2026-13", "2026-00", "26-11", "2026-1", "november", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for d in -1000..150_000 {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
    }
}
