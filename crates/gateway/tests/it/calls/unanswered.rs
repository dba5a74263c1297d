//! Calls nobody answers, both ways: busy, no answer, declined, and the caller giving up. The
//! caller hears what the callee's side said, and each call leaves a record saying so.

use std::path::Path;
use std::time::Duration;

use teamline_gateway::calls::{CallRecords, Direction, Outcome};

use super::stack::{Caller, Ending, SippCall, Stack, register_desk_phone};
use crate::harness::test_dir;

/// How the callee's side ends a call, what the caller hears and what the record says.
const CASES: [(Case, u16, Outcome); 4] = [
    (Case::Refuse(486, "Busy Here"), 486, Outcome::Busy),
    (
        Case::Refuse(480, "Temporarily Unavailable"),
        480,
        Outcome::NoAnswer,
    ),
    (Case::Refuse(603, "Decline"), 603, Outcome::Rejected),
    (Case::CallerHangsUp, 487, Outcome::Cancelled),
];

#[derive(Debug, Clone, Copy)]
enum Case {
    Refuse(u16, &'static str),
    CallerHangsUp,
}

impl Case {
    fn callee(self, dir: &Path, port: u16, name: &str) -> SippCall {
        match self {
            Case::Refuse(status, reason) => SippCall::refuse(dir, port, name, status, reason),
            Case::CallerHangsUp => SippCall::ring(dir, port, name),
        }
    }

    fn ending(self) -> Ending {
        match self {
            Case::Refuse(..) => Ending::Refused,
            Case::CallerHangsUp => Ending::Cancelled { after_ms: 500 },
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pbx_calls_teams_does_not_answer_end_as_teams_said() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let mut records = CallRecords::default();
    for (case, heard, outcome) in CASES {
        let mut teams = case.callee(dir.path(), stack.microsoft.teams_uas.port(), "teams");
        let alex = Caller::desk_phone(&stack, "1001");
        let mut call = SippCall::dial(dir.path(), &alex, "1000", case.ending());
        assert!(
            call.finished(Duration::from_secs(20)).await,
            "{case:?}: {}",
            call.log()
        );
        assert!(
            teams.finished(Duration::from_secs(5)).await,
            "{case:?}: {}",
            teams.log()
        );
        assert_eq!(call.final_failure(), Some(heard), "{case:?}");

        let rec = stack.next_record(&mut records).await;
        assert_eq!(rec.direction, Some(Direction::ToTeams), "{case:?}");
        assert_eq!(
            (rec.final_code, rec.outcome),
            (Some(heard), outcome),
            "{case:?}"
        );
        assert_eq!((rec.device.as_str(), rec.to.as_str()), ("1000tm", "+11000"));
        assert!(rec.answered_at.is_none(), "{rec:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn teams_calls_the_pbx_does_not_answer_end_as_the_pbx_said() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let desk_port = register_desk_phone(&stack, "1001").await;
    let mut records = CallRecords::default();
    for (case, heard, outcome) in CASES {
        let mut desk = case.callee(dir.path(), desk_port, "desk-1001");
        let adele = Caller::teams_user(&stack, "+11000");
        let mut call = SippCall::dial(dir.path(), &adele, "1001", case.ending());
        assert!(
            call.finished(Duration::from_secs(20)).await,
            "{case:?}: {}",
            call.log()
        );
        assert!(
            desk.finished(Duration::from_secs(5)).await,
            "{case:?}: {}",
            desk.log()
        );
        assert_eq!(call.final_failure(), Some(heard), "{case:?}");

        let rec = stack.next_record(&mut records).await;
        assert_eq!(rec.direction, Some(Direction::ToPbx), "{case:?}");
        assert_eq!(
            (rec.final_code, rec.outcome),
            (Some(heard), outcome),
            "{case:?}"
        );
        assert_eq!(
            (rec.device.as_str(), rec.from.as_str()),
            ("1000tm", "+11000")
        );
        assert!(rec.answered_at.is_none(), "{rec:?}");
    }
}
