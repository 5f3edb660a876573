//! Schedules of `scheduled` triggers: a standard 5-field crontab (`*/15 * * * *`), the same with
//! seconds (6 fields), or Cloud Elements' Quartz form with seconds and year
//! (`0 0/15 * 1/1 * ? *`). Anything that would fire more than once a minute is refused.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    text: String,
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let trimmed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = trimmed.split(' ').count();
        let quartz = fields == 7;
        if !(5..=7).contains(&fields) {
            return Err(format!(
                "{text:?} has {fields} fields; write 5 (minute hour day month weekday) or Cloud Elements' 7 (second minute hour day month weekday year)"
            ));
        }
        let parser = CronParser::builder()
            .seconds(if fields == 5 {
                Seconds::Disallowed
            } else {
                Seconds::Required
            })
            .year(if quartz {
                Year::Required
            } else {
                Year::Disallowed
            })
            .alternative_weekdays(quartz)
            .sloppy_ranges(true)
            .dom_and_dow(false)
            .build();
        let cron = parser
            .parse(&trimmed)
            .map_err(|e| format!("{text:?} is not a schedule: {e}"))?;
        let schedule = Schedule {
            cron,
            text: trimmed,
        };
        schedule.refuse_sub_minute()?;
        Ok(schedule)
    }

    /// Looks at the coming firings: two within a minute of each other mean a sub-minute schedule.
    fn refuse_sub_minute(&self) -> Result<(), String> {
        let start = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("constant date")
            .with_timezone(&Utc);
        let mut previous: Option<DateTime<Utc>> = None;
        for next in self.cron.iter_after(start).take(240) {
            if let Some(previous) = previous
                && (next - previous).num_seconds() < 60
            {
                return Err(format!(
                    "{:?} fires every {} s; schedules may fire at most once a minute",
                    self.text,
                    (next - previous).num_seconds()
                ));
            }
            previous = Some(next);
        }
        Ok(())
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn crontab_and_quartz_forms_are_accepted() {
        let every_15 = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every_15.next_after(at("2030-05-01T10:07:00Z")),
            Some(at("2030-05-01T10:15:00Z"))
        );
        let quartz = Schedule::parse("0 0/15 * 1/1 * ? *").unwrap();
        assert_eq!(
            quartz.next_after(at("2030-05-01T10:07:00Z")),
            Some(at("2030-05-01T10:15:00Z"))
        );
        let every_minute = Schedule::parse("0 0/1 * 1/1 * ? *").unwrap();
        assert_eq!(
            every_minute.next_after(at("2030-05-01T10:07:00Z")),
            Some(at("2030-05-01T10:08:00Z"))
        );
        let with_seconds = Schedule::parse("30 5 * * * *").unwrap();
        assert_eq!(
            with_seconds.next_after(at("2030-05-01T10:07:00Z")),
            Some(at("2030-05-01T11:05:30Z"))
        );
    }

    #[test]
    fn quartz_weekdays_count_from_sunday_as_one() {
        // Quartz: 2 = Monday. 2030-05-01 is a Wednesday; the next Monday is 2030-05-06.
        let mondays = Schedule::parse("0 0 9 ? * 2 *").unwrap();
        assert_eq!(
            mondays.next_after(at("2030-05-01T10:00:00Z")),
            Some(at("2030-05-06T09:00:00Z"))
        );
    }

    #[test]
    fn sub_minute_and_malformed_schedules_are_refused() {
        assert!(
            Schedule::parse("0/30 * * 1/1 * ? *")
                .unwrap_err()
                .contains("at most once a minute")
        );
        assert!(
            Schedule::parse("* * * * * *")
                .unwrap_err()
                .contains("at most once a minute")
        );
        assert!(Schedule::parse("* * *").unwrap_err().contains("fields"));
        assert!(
            Schedule::parse("61 * * * *")
                .unwrap_err()
                .contains("not a schedule")
        );
    }
}
