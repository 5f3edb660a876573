//! One run: a fresh QuickJS runtime with limits, the inputs, the user's body, and the outcome.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::context::intrinsic::{
    Date, Eval, Json, MapSet, Promise, Proxy, RegExp, RegExpCompiler, TypedArrays, WeakRef,
};
use rquickjs::function::Rest;
use rquickjs::{Context, Ctx, Filter, Function, Object, Persistent, Runtime, Value};

use crate::console::ConsoleBuffer;
use crate::error::ScriptFailure;
use crate::{EmailNotification, SandboxLimits, ScriptInput, ScriptKind, ScriptOutcome, globals};

/// The file name the engine reports in stacks and syntax errors; positions in it are mapped back
/// to the user's body.
pub(crate) const FILE_NAME: &str = "step";

/// The body runs inside a function, so top-level `let`/`const` are locals of this run, `return`
/// is legal, and `'use strict'` applies to all of it, as in Cloud Elements. The five names are
/// `const` bindings so that assigning to a parameter fails like mutating one does (Cloud Elements
/// calls the parameters immutable); the body sits in its own block so it may still shadow them.
const WRAPPER_HEAD: &str = "(function (__trigger, __steps, __info, __config, __done) { 'use strict'; \
    const trigger = __trigger, steps = __steps, info = __info, config = __config, done = __done; {\n";
const WRAPPER_TAIL: &str = "\n}})";
/// Lines the wrapper puts before the user's first line.
pub(crate) const WRAPPER_LINES: u32 = 1;

/// What a script may use. Left out on purpose: `Performance` (timing side channel, no use in a
/// step) and `DOMException` (no DOM). QuickJS adds no I/O of its own; the host adds only what
/// `globals` installs.
type Intrinsics = (
    Date,
    Eval,
    RegExpCompiler,
    RegExp,
    Json,
    Proxy,
    MapSet,
    TypedArrays,
    Promise,
    WeakRef,
);

/// Floors for configured limits (an empty context alone needs ~200 KiB of heap).
const MIN_MEMORY_BYTES: usize = 1024 * 1024;
const MIN_STACK_BYTES: usize = 64 * 1024;

/// Headroom granted after a failure so the error itself can be read even when the script threw
/// because it had used up its heap.
const READ_ERROR_EXTRA_BYTES: usize = 4 * 1024 * 1024;
/// Time granted after a failure to read the error (a thrown object's `message` may be a getter).
const READ_ERROR_GRACE: Duration = Duration::from_millis(250);

/// Mutable state shared by the native functions of one run.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    pub(crate) console: ConsoleBuffer,
    pub(crate) notifications: Vec<EmailNotification>,
    /// Set by the first `done` call; later calls leave it alone.
    pub(crate) result: Option<Result<serde_json::Value, ScriptFailure>>,
    /// The first promise rejection nobody handled, reported if the script never calls `done`.
    pub(crate) unhandled_rejection: Option<ScriptFailure>,
}

pub(crate) type SharedState = Rc<RefCell<RunState>>;

/// The deadline the interrupt handler enforces, and whether it fired.
struct Clock {
    deadline: Cell<Instant>,
    fired: Cell<bool>,
    /// How long reading a thrown value may take after a failure: [`READ_ERROR_GRACE`], or less
    /// for a run held to a budget (its thread must not be kept longer than that).
    error_grace: Cell<Duration>,
}

impl Clock {
    fn expired(&self) -> bool {
        if Instant::now() >= self.deadline.get() {
            self.fired.set(true);
        }
        self.fired.get()
    }
}

/// Where a thrown value came from: syntax errors only make sense while compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Compile,
    Run,
}

pub(crate) struct Engine {
    ctx: Context,
    rt: Runtime,
    clock: Rc<Clock>,
    limits: SandboxLimits,
    /// What the globals' native functions write to; an engine serves one run, so one state.
    state: SharedState,
    /// The global object's own property names, and how many own keys it has (symbols too), as
    /// built: what [`SWEEP_GLOBALS`] restores a warm engine to.
    base_globals: Vec<String>,
    base_global_keys: usize,
}

impl Engine {
    pub(crate) fn new(limits: &SandboxLimits) -> Result<Self, ScriptFailure> {
        // QuickJS reads 0 as "no limit" for both; a zero in configuration must not mean that.
        let limits = &SandboxLimits {
            wall_time: limits.wall_time,
            memory_bytes: limits.memory_bytes.max(MIN_MEMORY_BYTES),
            max_stack_bytes: limits.max_stack_bytes.max(MIN_STACK_BYTES),
        };
        let rt = Runtime::new().map_err(|e| ScriptFailure::Engine {
            message: e.to_string(),
        })?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.max_stack_bytes);
        let clock = Rc::new(Clock {
            deadline: Cell::new(Instant::now() + limits.wall_time),
            fired: Cell::new(false),
            error_grace: Cell::new(READ_ERROR_GRACE),
        });
        let handler_clock = clock.clone();
        rt.set_interrupt_handler(Some(Box::new(move || handler_clock.expired())));
        let ctx = Context::custom::<Intrinsics>(&rt).map_err(|_| ScriptFailure::OutOfMemory {
            limit_bytes: limits.memory_bytes,
        })?;
        // Installed here rather than in the run, so that an engine built ahead has them ready:
        // about a fifth of a short script's run.
        let state: SharedState = Rc::default();
        let (base_globals, base_global_keys) = ctx
            .with(|ctx| {
                globals::install(&ctx, &state)?;
                let global = ctx.globals();
                let names = global
                    .own_keys::<String>(Filter::new().string())
                    .collect::<rquickjs::Result<Vec<_>>>()?;
                let keys = global
                    .own_keys::<rquickjs::Atom>(Filter::new().string().symbol())
                    .count();
                Ok::<_, rquickjs::Error>((names, keys))
            })
            .map_err(|e| ScriptFailure::Engine {
                message: format!("the script globals could not be installed: {e}"),
            })?;
        Ok(Self {
            base_globals,
            base_global_keys,
            ctx,
            rt,
            clock,
            limits: limits.clone(),
            state,
        })
    }

    fn made_for(&self, limits: &SandboxLimits) -> bool {
        self.limits.wall_time == limits.wall_time
            && self.limits.memory_bytes == limits.memory_bytes.max(MIN_MEMORY_BYTES)
            && self.limits.max_stack_bytes == limits.max_stack_bytes.max(MIN_STACK_BYTES)
    }

    /// Compiles the wrapped body without running any of it; `Err` is a syntax (or limit) failure.
    pub(crate) fn compile(&self, source: &str) -> Result<(), ScriptFailure> {
        self.ctx.with(|ctx| match compile(&ctx, source) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failure_from(&ctx, e, Stage::Compile, source)),
        })
    }

    /// Evaluates `source` as global code (not as the step body) and returns the engine's syntax
    /// error, if any, as `(message, line, column)` in the engine's own coordinates.
    pub(crate) fn syntax_error_of(&self, source: &str) -> Option<(String, u32, u32)> {
        self.ctx.with(|ctx| {
            let options = eval_options();
            match ctx.eval_with_options::<Value, _>(source, options) {
                Ok(_) => None,
                Err(rquickjs::Error::Exception) => {
                    let thrown = ctx.catch();
                    let obj = thrown.as_object()?;
                    let name: String = obj.get("name").ok()?;
                    if name != "SyntaxError" {
                        return None;
                    }
                    let message: String = obj.get("message").ok()?;
                    let stack: String = obj.get("stack").unwrap_or_default();
                    let (line, column) = engine_position(&stack)?;
                    Some((message, line, column))
                }
                Err(_) => None,
            }
        })
    }

    fn failure_from<'js>(
        &self,
        ctx: &Ctx<'js>,
        error: rquickjs::Error,
        stage: Stage,
        source: &str,
    ) -> ScriptFailure {
        match error {
            rquickjs::Error::Exception => {
                let thrown = ctx.catch();
                classify(&thrown, stage, source, &self.limits, self.clock.fired.get())
            }
            other => self.non_exception_failure(other),
        }
    }

    fn non_exception_failure(&self, error: rquickjs::Error) -> ScriptFailure {
        if self.clock.fired.get() {
            return ScriptFailure::TimedOut {
                limit: self.limits.wall_time,
            };
        }
        match error {
            rquickjs::Error::Allocation => ScriptFailure::OutOfMemory {
                limit_bytes: self.limits.memory_bytes,
            },
            other => ScriptFailure::Engine {
                message: other.to_string(),
            },
        }
    }
}

/// How the main phase of a run ended.
enum Phase {
    /// The body (and any promise jobs) ran to the end.
    Finished,
    /// Something was thrown; it is read in a second phase with more headroom.
    Threw(Stage, Persistent<Value<'static>>),
    Failed(ScriptFailure),
}

pub(crate) fn run(
    limits: &SandboxLimits,
    kind: ScriptKind,
    source: &str,
    input: &ScriptInput,
    warm_owner: Option<&str>,
) -> ScriptOutcome {
    run_within(limits, kind, source, input, None, warm_owner)
        .expect("a run without a budget always has an outcome")
}

/// A run held to `budget` (when shorter than the wall-time limit) gives `None` once it has
/// taken that long, whatever it reached: the caller runs it again without the budget.
///
/// With `warm_owner`, the run may use an engine kept from an earlier run of the same body for
/// the same owner on this thread, and its engine is kept for the next one if it ended cleanly.
pub(crate) fn run_within(
    limits: &SandboxLimits,
    kind: ScriptKind,
    source: &str,
    input: &ScriptInput,
    budget: Option<Duration>,
    warm_owner: Option<&str>,
) -> Option<ScriptOutcome> {
    let started = Instant::now();
    let budget = budget.filter(|budget| *budget < limits.wall_time);
    let warm = warm_owner.and_then(|owner| take_warm(limits, owner, kind, source));
    let (mut body, sweep, runs, engine) = match warm {
        Some(warm) => (
            Some(warm.body),
            Some(warm.sweep),
            warm.runs,
            Ok(warm.engine),
        ),
        None => (
            None,
            None,
            0,
            take_spare(limits).map_or_else(|| Engine::new(limits), Ok),
        ),
    };
    let (result, state) = match engine {
        Ok(engine) => {
            engine.clock.fired.set(false);
            engine
                .clock
                .deadline
                .set(started + budget.unwrap_or(limits.wall_time));
            engine
                .clock
                .error_grace
                .set(budget.unwrap_or(READ_ERROR_GRACE));
            let state = engine.state.clone();
            let keep_body = warm_owner.is_some();
            let result = execute(&engine, kind, source, input, &state, &mut body, keep_body);
            let clean = result.is_ok() && !engine.clock.fired.get() && !engine.rt.is_job_pending();
            match (warm_owner, body) {
                (Some(owner), Some(body)) if clean && runs + 1 < WARM_RUNS => {
                    keep_warm(owner, kind, source, body, sweep, runs + 1, engine);
                }
                (_, body) => {
                    drop((body, sweep));
                    retire(engine);
                }
            }
            (result, state.take())
        }
        Err(failure) => (Err(failure), RunState::default()),
    };
    let elapsed = started.elapsed();
    if budget.is_some_and(|budget| elapsed >= budget) {
        return None;
    }
    Some(ScriptOutcome {
        result,
        console: state.console.finish(),
        notifications: state.notifications,
        elapsed,
    })
}

/// Engines kept warm per thread, and how many runs one engine serves before it is replaced
/// (so whatever a body leaves behind in its engine stays bounded).
const WARM_PER_THREAD: usize = 8;
const WARM_RUNS: u32 = 500;

/// An engine kept after a clean run for the next run of the same body by the same owner: the
/// compiled body is reused and nothing is built. Fields drop in order: the values it holds go
/// before the engine that owns them.
struct WarmEngine {
    body: Persistent<Function<'static>>,
    /// Removes the globals a run added ([`SWEEP_GLOBALS`]).
    sweep: Persistent<Function<'static>>,
    runs: u32,
    engine: Engine,
}

struct WarmSlot {
    owner: String,
    kind: ScriptKind,
    source: String,
    warm: WarmEngine,
}

/// Made when an engine is first kept, from the global names it had when it was built (ferry's and
/// ECMAScript's): each call deletes every other own string-named property of the global object
/// and answers whether the global object is back to its built set of keys; if not (a global the
/// run made non-configurable, a symbol-keyed one, a built-in it deleted), the engine is not kept.
/// What it uses is taken when it is made, so a body that replaced `Reflect` changes nothing.
const SWEEP_GLOBALS: &str = "(function (names, keyCount) { 'use strict'; \
    const global = globalThis, ownKeys = Reflect.ownKeys, remove = Reflect.deleteProperty; \
    const known = Object.create(null); for (let i = 0; i < names.length; i++) known[names[i]] = true; \
    return function () { const now = ownKeys(global); \
      for (let i = 0; i < now.length; i++) { const key = now[i]; \
        if (typeof key === 'string' && known[key] !== true && !remove(global, key)) return false; } \
      return ownKeys(global).length === keyCount; }; })";

fn take_warm(
    limits: &SandboxLimits,
    owner: &str,
    kind: ScriptKind,
    source: &str,
) -> Option<WarmEngine> {
    WARM.with_borrow_mut(|slots| {
        let at = slots.iter().position(|slot| {
            slot.kind == kind
                && slot.owner == owner
                && slot.source == source
                && slot.warm.engine.made_for(limits)
        })?;
        Some(slots.remove(at).warm)
    })
}

/// Keeps the engine for the owner's next run of this body, once the globals the run added are
/// gone; the least recently used engine makes room.
fn keep_warm(
    owner: &str,
    kind: ScriptKind,
    source: &str,
    body: Persistent<Function<'static>>,
    sweep: Option<Persistent<Function<'static>>>,
    runs: u32,
    engine: Engine,
) {
    let swept = engine.ctx.with(|ctx| {
        let sweep = match sweep {
            Some(sweep) => sweep.restore(&ctx).ok()?,
            None => {
                let make: Function = ctx.eval_with_options(SWEEP_GLOBALS, eval_options()).ok()?;
                make.call((engine.base_globals.clone(), engine.base_global_keys))
                    .ok()?
            }
        };
        let clean: bool = sweep.call(()).ok()?;
        clean.then(|| Persistent::save(&ctx, sweep))
    });
    let Some(sweep) = swept else {
        drop(body);
        retire(engine);
        return;
    };
    let warm = WarmEngine {
        body,
        sweep,
        runs,
        engine,
    };
    let evicted = WARM.with_borrow_mut(|slots| {
        let evicted = (slots.len() >= WARM_PER_THREAD).then(|| slots.remove(0));
        slots.push(WarmSlot {
            owner: owner.to_owned(),
            kind,
            source: source.to_owned(),
            warm,
        });
        evicted
    });
    if let Some(slot) = evicted {
        let WarmEngine {
            body,
            sweep,
            engine,
            ..
        } = slot.warm;
        drop((body, sweep));
        retire(engine);
    }
}

thread_local! {
    /// A fresh engine built ahead of the next run on this thread. It has never run anything, so
    /// taking it gives exactly what building one would: only the building moves off the run.
    static SPARE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The engine of the last run, when its teardown is left to the next `prepare_spare`.
    static RETIRED: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// Whether this thread's caller builds engines ahead (and so also tears them down later).
    static SPARE_WANTED: Cell<bool> = const { Cell::new(false) };
    /// Engines kept for their owners' next runs, least recently used first.
    static WARM: RefCell<Vec<WarmSlot>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a used engine for [`prepare_spare`] to drop when a caller builds engines ahead (tearing
/// one down costs about as much as building one); otherwise drops it now.
fn retire(engine: Engine) {
    if SPARE_WANTED.get() {
        RETIRED.set(Some(engine));
    }
}

/// Builds this thread's spare engine if it has none (or one made for other limits).
pub(crate) fn prepare_spare(limits: &SandboxLimits) {
    SPARE_WANTED.set(true);
    RETIRED.take();
    let ready =
        SPARE.with_borrow(|spare| spare.as_ref().is_some_and(|engine| engine.made_for(limits)));
    if !ready && let Ok(engine) = Engine::new(limits) {
        SPARE.set(Some(engine));
    }
}

/// Whether [`prepare_spare`] would do anything on this thread: build a spare, or tear down a
/// retired engine. After a warm run neither is usually needed.
pub(crate) fn spare_needs_preparing(limits: &SandboxLimits) -> bool {
    !SPARE_WANTED.get()
        || RETIRED.with_borrow(Option::is_some)
        || !SPARE.with_borrow(|spare| spare.as_ref().is_some_and(|engine| engine.made_for(limits)))
}

fn take_spare(limits: &SandboxLimits) -> Option<Engine> {
    let engine = SPARE.take()?;
    if !engine.made_for(limits) {
        return None;
    }
    Some(engine)
}

/// Runs the body once. `body` is the compiled body when a warm engine brings one; otherwise the
/// source is compiled here, and kept in `body` when `keep_body` says the engine may stay warm.
fn execute(
    engine: &Engine,
    kind: ScriptKind,
    source: &str,
    input: &ScriptInput,
    state: &SharedState,
    body: &mut Option<Persistent<Function<'static>>>,
    keep_body: bool,
) -> Result<serde_json::Value, ScriptFailure> {
    install_rejection_tracker(&engine.rt, state);
    let phase = engine.ctx.with(|ctx| {
        let mut stage = Stage::Run;
        let attempt = (|| -> rquickjs::Result<()> {
            let freeze: Function = ctx.globals().get::<_, Object>("Object")?.get("freeze")?;
            let trigger = load_input(&ctx, &freeze, &input.trigger, 0)?;
            let steps = load_input(&ctx, &freeze, &input.steps, 0)?;
            let info = load_input(&ctx, &freeze, &input.info, 0)?;
            let config = load_input(&ctx, &freeze, &input.config, 0)?;
            let done = done_function(&ctx, kind, state)?;
            let function = match body.clone() {
                Some(compiled) => compiled.restore(&ctx)?,
                None => {
                    stage = Stage::Compile;
                    let function = compile(&ctx, source)?;
                    if keep_body {
                        *body = Some(Persistent::save(&ctx, function.clone()));
                    }
                    function
                }
            };
            stage = Stage::Run;
            function.call::<_, Value>((trigger, steps, info, config, done))?;
            Ok(())
        })();
        match attempt {
            Ok(()) => {
                while !engine.clock.expired() && ctx.execute_pending_job() {}
                Phase::Finished
            }
            Err(rquickjs::Error::Exception) => {
                Phase::Threw(stage, Persistent::save(&ctx, ctx.catch()))
            }
            Err(other) => Phase::Failed(engine.non_exception_failure(other)),
        }
    });

    if let Some(result) = state.borrow_mut().result.take() {
        // done() was called: its result stands whatever happened afterwards. The saved exception
        // (if any) is still restored below so it is released before the runtime goes away.
        if let Phase::Threw(_, saved) = phase {
            engine.ctx.with(|ctx| drop(saved.restore(&ctx)));
        }
        return result;
    }

    match phase {
        Phase::Finished if engine.clock.fired.get() => Err(ScriptFailure::TimedOut {
            limit: engine.limits.wall_time,
        }),
        Phase::Finished => Err(state
            .borrow_mut()
            .unhandled_rejection
            .take()
            .unwrap_or(ScriptFailure::NoResult)),
        Phase::Failed(failure) => Err(failure),
        Phase::Threw(stage, saved) => {
            let timed_out = engine.clock.fired.get();
            engine.rt.set_memory_limit(
                engine
                    .limits
                    .memory_bytes
                    .saturating_add(READ_ERROR_EXTRA_BYTES),
            );
            engine.clock.fired.set(false);
            engine
                .clock
                .deadline
                .set(Instant::now() + engine.clock.error_grace.get());
            let failure = engine.ctx.with(|ctx| match saved.restore(&ctx) {
                Ok(thrown) => classify(&thrown, stage, source, &engine.limits, timed_out),
                Err(e) => ScriptFailure::Engine {
                    message: e.to_string(),
                },
            });
            Err(failure)
        }
    }
}

fn eval_options() -> EvalOptions {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = true;
    options.filename = Some(FILE_NAME.to_string());
    options
}

fn compile<'js>(ctx: &Ctx<'js>, source: &str) -> rquickjs::Result<Function<'js>> {
    let mut wrapped = String::with_capacity(WRAPPER_HEAD.len() + source.len() + WRAPPER_TAIL.len());
    wrapped.push_str(WRAPPER_HEAD);
    wrapped.push_str(source);
    wrapped.push_str(WRAPPER_TAIL);
    let value: Value = ctx.eval_with_options(wrapped, eval_options())?;
    // A body that closes the wrapper early (`}); (...` ) parses but is not one function body.
    value.into_function().ok_or_else(|| {
        rquickjs::Exception::throw_syntax(ctx, "unexpected '}': the body closes the step function")
    })
}

/// Deepest input nesting accepted. serde_json's parser stops at 128 levels, so only a value built
/// in code can be deeper; the limit keeps the recursive conversion far from the native stack's end.
const MAX_INPUT_DEPTH: usize = 256;

/// Builds one input as JavaScript values directly and deep-freezes it on the way: Cloud Elements
/// documents the parameters as immutable. Measured on a 36 KB payload, building natively costs
/// about half of serialising to JSON text and running `JSON.parse`; freezing costs about as much
/// as building, whichever way it is done (per object from Rust, or one JS deep-freeze call).
fn load_input<'js>(
    ctx: &Ctx<'js>,
    freeze: &Function<'js>,
    value: &serde_json::Value,
    depth: usize,
) -> rquickjs::Result<Value<'js>> {
    use serde_json::Value as Json;
    Ok(match value {
        Json::Null => Value::new_null(ctx.clone()),
        Json::Bool(b) => Value::new_bool(ctx.clone(), *b),
        Json::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Value::new_int(ctx.clone(), i),
            None => Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Json::Array(_) | Json::Object(_) if depth >= MAX_INPUT_DEPTH => {
            return Err(rquickjs::Exception::throw_range(
                ctx,
                &format!("the step input is nested more than {MAX_INPUT_DEPTH} levels deep"),
            ));
        }
        Json::Array(items) => {
            let array = rquickjs::Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.set(i, load_input(ctx, freeze, item, depth + 1)?)?;
            }
            freeze.call::<_, Value>((array.clone(),))?;
            array.into_value()
        }
        Json::Object(map) => {
            let object = Object::new(ctx.clone())?;
            for (key, item) in map {
                object.set(key.as_str(), load_input(ctx, freeze, item, depth + 1)?)?;
            }
            freeze.call::<_, Value>((object.clone(),))?;
            object.into_value()
        }
    })
}

fn done_function<'js>(
    ctx: &Ctx<'js>,
    kind: ScriptKind,
    state: &SharedState,
) -> rquickjs::Result<Function<'js>> {
    let state = state.clone();
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<()> {
            if state.borrow().result.is_some() {
                return Ok(());
            }
            let value = args.0.into_iter().next();
            let result = match kind {
                ScriptKind::Script => script_result(&ctx, value)?,
                ScriptKind::Filter => filter_result(&ctx, value),
            };
            // A `toJSON` run by the conversion may itself have called done(); the first wins.
            state.borrow_mut().result.get_or_insert(result);
            Ok(())
        },
    )?
    .with_name("done")
}

/// `done(value)` for a script step: the value as JSON, taken now (later mutations don't count).
fn script_result<'js>(
    ctx: &Ctx<'js>,
    value: Option<Value<'js>>,
) -> rquickjs::Result<Result<serde_json::Value, ScriptFailure>> {
    let Some(value) = value.filter(|v| !v.is_undefined()) else {
        return Ok(Ok(serde_json::Value::Object(serde_json::Map::new())));
    };
    let type_name = value.type_name();
    let json = match ctx.json_stringify(value) {
        Ok(Some(text)) => text.to_string()?,
        Ok(None) => {
            return Ok(Err(ScriptFailure::InvalidResult {
                message: format!("a {type_name} cannot be represented in JSON"),
            }));
        }
        Err(rquickjs::Error::Exception) => {
            let thrown = ctx.catch();
            if thrown.is_uncatchable_error() || thrown.is_null() || is_limit_error(&thrown) {
                // Out of time or memory while converting: let the run fail with that.
                return Err(ctx.throw(thrown));
            }
            return Ok(Err(ScriptFailure::InvalidResult {
                message: describe_thrown(&thrown).0,
            }));
        }
        Err(other) => return Err(other),
    };
    Ok(
        serde_json::from_str(&json).map_err(|e| ScriptFailure::InvalidResult {
            message: e.to_string(),
        }),
    )
}

/// `done(x)` for a filter: only a boolean says which way the flow goes.
fn filter_result<'js>(
    ctx: &Ctx<'js>,
    value: Option<Value<'js>>,
) -> Result<serde_json::Value, ScriptFailure> {
    match value.as_ref().and_then(Value::as_bool) {
        Some(b) => Ok(serde_json::Value::Bool(b)),
        None => Err(ScriptFailure::InvalidFilterResult {
            got: match value {
                None => String::new(),
                Some(v) => {
                    let mut shown = crate::console::format_value(ctx, &v);
                    if v.is_string() {
                        shown = format!("{shown:?}");
                    }
                    if shown.chars().count() > 80 {
                        shown = shown.chars().take(80).collect::<String>() + "…";
                    }
                    shown
                }
            },
        }),
    }
}

fn install_rejection_tracker(rt: &Runtime, state: &SharedState) {
    let state = state.clone();
    rt.set_host_promise_rejection_tracker(Some(Box::new(
        move |_ctx: Ctx<'_>, _promise: Value<'_>, reason: Value<'_>, is_handled: bool| {
            let mut state = state.borrow_mut();
            if is_handled {
                state.unhandled_rejection = None;
            } else if state.unhandled_rejection.is_none() {
                let (message, line, column) = describe_thrown(&reason);
                state.unhandled_rejection = Some(ScriptFailure::Thrown {
                    message: format!("Unhandled promise rejection: {message}"),
                    line,
                    column,
                });
            }
        },
    )));
}

fn is_limit_error(thrown: &Value<'_>) -> bool {
    let Some(obj) = thrown.as_object().filter(|_| thrown.is_error()) else {
        return false;
    };
    let name: String = obj.get("name").unwrap_or_default();
    let message: String = obj.get("message").unwrap_or_default();
    matches!(
        (name.as_str(), message.as_str()),
        ("InternalError", "out of memory") | ("RangeError", "Maximum call stack size exceeded")
    )
}

/// Turns whatever was thrown into the failure the user sees.
pub(crate) fn classify(
    thrown: &Value<'_>,
    stage: Stage,
    source: &str,
    limits: &SandboxLimits,
    timed_out: bool,
) -> ScriptFailure {
    if timed_out || thrown.is_uncatchable_error() {
        return ScriptFailure::TimedOut {
            limit: limits.wall_time,
        };
    }
    if let Some(obj) = thrown.as_object().filter(|_| thrown.is_error()) {
        let name: String = obj.get("name").unwrap_or_default();
        let message: String = obj.get("message").unwrap_or_default();
        match (name.as_str(), message.as_str()) {
            ("InternalError", "out of memory") => {
                return ScriptFailure::OutOfMemory {
                    limit_bytes: limits.memory_bytes,
                };
            }
            ("RangeError", "Maximum call stack size exceeded")
            | ("InternalError", "stack overflow") => {
                return ScriptFailure::StackOverflow {
                    limit_bytes: limits.max_stack_bytes,
                };
            }
            ("SyntaxError", _) if stage == Stage::Compile => {
                let stack: String = obj.get("stack").unwrap_or_default();
                let (line, column) = engine_position(&stack)
                    .map(|(l, c)| user_position(source, l, c))
                    .unwrap_or((1, 1));
                return ScriptFailure::Syntax {
                    message,
                    line,
                    column,
                };
            }
            _ => {}
        }
    }
    // When the heap is so full that QuickJS cannot allocate even its "out of memory" error, it
    // throws `null`, and by the time the error reaches us the script's objects are freed, so
    // memory usage no longer shows it. Only a script that literally throws null is told otherwise.
    if thrown.is_null() && (stage == Stage::Compile || !throws_null_literally(source)) {
        return ScriptFailure::OutOfMemory {
            limit_bytes: limits.memory_bytes,
        };
    }
    let (message, line, column) = describe_thrown(thrown);
    ScriptFailure::Thrown {
        message,
        line,
        column,
    }
}

fn throws_null_literally(source: &str) -> bool {
    source.match_indices("throw").any(|(at, word)| {
        source[at + word.len()..]
            .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
            .starts_with("null")
    })
}

/// The message (and where, if known) of a thrown value: `Error("x")` → `"x"`, other error types
/// keep their name (`"TypeError: x is not a function"`), strings are used as they are.
pub(crate) fn describe_thrown(thrown: &Value<'_>) -> (String, Option<u32>, Option<u32>) {
    if let Some(s) = thrown.as_string() {
        return (s.to_string().unwrap_or_default(), None, None);
    }
    let Some(obj) = thrown.as_object() else {
        let ctx = thrown.ctx();
        return (crate::console::format_value(ctx, thrown), None, None);
    };
    if !thrown.is_error() {
        return (
            crate::console::format_value(thrown.ctx(), thrown),
            None,
            None,
        );
    }
    let name: String = obj.get("name").unwrap_or_default();
    let message: String = obj.get("message").unwrap_or_default();
    let stack: String = obj.get("stack").unwrap_or_default();
    let mut text = if name.is_empty() || name == "Error" {
        message.clone()
    } else {
        format!("{name}: {message}")
    };
    if name == "ReferenceError"
        && let Some(hint) = message
            .strip_suffix(" is not defined")
            .and_then(missing_global_hint)
    {
        text.push_str(hint);
    }
    let position = engine_position(&stack).and_then(|(line, column)| {
        line.checked_sub(WRAPPER_LINES)
            .filter(|l| *l > 0)
            .map(|l| (l, column))
    });
    (text, position.map(|p| p.0), position.map(|p| p.1))
}

/// Why a familiar Node or browser global is missing, for the ReferenceError a user gets.
fn missing_global_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "fetch" | "XMLHttpRequest" | "WebSocket" => {
            " (ferry scripts have no network access: use an httpRequest or elementRequest step)"
        }
        "process" => " (ferry scripts have no process or environment access: use config variables)",
        "setTimeout" | "setInterval" | "setImmediate" => {
            " (ferry scripts have no timers: a step runs to completion at once)"
        }
        "Buffer" => " (use CE.b64 and CE.decode64 for base64)",
        "std" | "os" | "fs" => " (ferry scripts have no file or OS access)",
        _ => return None,
    })
}

/// The first `step:LINE:COLUMN` in an engine stack, in the engine's coordinates.
pub(crate) fn engine_position(stack: &str) -> Option<(u32, u32)> {
    let needle = format!("{FILE_NAME}:");
    let mut rest = stack;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let mut parts = after.splitn(3, ':');
        let line = parts.next().and_then(|l| l.parse::<u32>().ok());
        let column = parts.next().map(|c| {
            c.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
        if let (Some(line), Some(Ok(column))) = (line, column.map(|c| c.parse::<u32>())) {
            return Some((line, column));
        }
        rest = after;
    }
    None
}

/// Maps an engine position in the wrapped source to the user's body. Errors reported on the
/// wrapper's closing line (an unclosed brace, say) point just past the body's last character.
pub(crate) fn user_position(source: &str, engine_line: u32, engine_column: u32) -> (u32, u32) {
    let line_count = source.lines().count().max(1) as u32;
    let line = engine_line.saturating_sub(WRAPPER_LINES);
    if line == 0 {
        return (1, 1);
    }
    if line > line_count {
        let last = source.lines().last().unwrap_or("");
        return (line_count, last.chars().count() as u32 + 1);
    }
    (line, engine_column.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_a_literal_throw_of_null() {
        assert!(throws_null_literally("if (x) throw null;"));
        assert!(throws_null_literally("throw (null)"));
        assert!(!throws_null_literally("throw new Error('null')"));
        assert!(!throws_null_literally("let a = null;"));
    }

    #[test]
    fn finds_positions_in_stacks() {
        assert_eq!(engine_position("    at step:3:7\n"), Some((3, 7)));
        assert_eq!(
            engine_position("    at f (step:12:5)\n    at <anonymous> (step:20:1)\n"),
            Some((12, 5))
        );
        assert_eq!(engine_position("    at <eval>\n"), None);
    }

    #[test]
    fn positions_past_the_body_point_at_its_end() {
        assert_eq!(user_position("let a = {\n  b: 1", 4, 2), (2, 7));
        assert_eq!(user_position("x", 2, 3), (1, 3));
    }
}
