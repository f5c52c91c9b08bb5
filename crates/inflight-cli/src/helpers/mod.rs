//! Small helpers every other module may use, and which use nothing of them: `say` (our own
//! lines on stderr, which may be closed), `parse` (durations, sizes, rates on the command
//! line), `human` (durations for people), `shown` (an input in a message), `mask` (passwords
//! in URLs), `errchain` (walking an error's sources) and `fdlimit` (the open-files limit).
pub(crate) mod errchain;
pub(crate) mod fdlimit;
pub(crate) mod human;
pub(crate) mod mask;
pub(crate) mod parse;
pub(crate) mod say;
pub(crate) mod shown;
