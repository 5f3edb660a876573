//! The globals ferry adds to a script's world: `console`, `notify`, `require` and `CE`.
//! Everything else a script sees is plain ECMAScript from QuickJS.

use rquickjs::function::Rest;
use rquickjs::{Coerced, Ctx, Exception, Function, Object, Result, Value};

use crate::EmailNotification;
use crate::console::{format_args, format_value};
use crate::run::SharedState;

/// Modules `require` can return. Cloud Elements also offered `lodash`, `lodash/fp` and `moment`;
/// ferry does not bundle them yet, and `require` says so instead of returning `undefined`.
const MODULES: &str = "util";

pub(crate) fn install<'js>(ctx: &Ctx<'js>, state: &SharedState) -> Result<()> {
    let globals = ctx.globals();

    // All console methods write to the same captured list, so one function serves them all.
    let console = Object::new(ctx.clone())?;
    let log_state = state.clone();
    let log = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        if log_state.borrow().console.is_full() {
            // Past the cap, count the line without paying to format it.
            log_state.borrow_mut().console.skip();
            return;
        }
        let line = format_args(&ctx, &args.0);
        log_state.borrow_mut().console.push(line);
    })?
    .with_name("log")?;
    for method in ["log", "info", "warn", "error", "debug", "trace"] {
        console.set(method, log.clone())?;
    }
    globals.set("console", console)?;

    let notify = Object::new(ctx.clone())?;
    let notify_state = state.clone();
    notify.set(
        "email",
        Function::new(
            ctx.clone(),
            move |to: Coerced<String>, subject: Coerced<String>, body: Coerced<String>| {
                notify_state
                    .borrow_mut()
                    .notifications
                    .push(EmailNotification {
                        to: to.0,
                        subject: subject.0,
                        body: body.0,
                    });
            },
        )?
        .with_name("email")?,
    )?;
    globals.set("notify", notify)?;

    globals.set(
        "require",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: Coerced<String>| {
            match name.0.as_str() {
                "util" | "node:util" => util_module(&ctx),
                other => Err(Exception::throw_message(
                    &ctx,
                    &format!(
                        "require('{other}') is not available in ferry scripts; available modules: {MODULES}"
                    ),
                )),
            }
        })?
        .with_name("require")?,
    )?;

    crate::ce::install(ctx, &globals)
}

/// The part of Node's `util` that makes sense without I/O: `format` and `inspect`.
fn util_module<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let util = Object::new(ctx.clone())?;
    util.set(
        "format",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            format_args(&ctx, &args.0)
        })?
        .with_name("format")?,
    )?;
    util.set(
        "inspect",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, value: Value<'js>| match value.as_string() {
                Some(s) => {
                    let s = s.to_string().unwrap_or_default();
                    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
                }
                None => format_value(&ctx, &value),
            },
        )?
        .with_name("inspect")?,
    )?;
    Ok(util)
}
