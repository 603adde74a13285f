//! `phisafe keys`, `encrypt`, `decrypt` and `audit`: envelope encryption
//! from the command line.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use phisafe::audit::{self, AuditSink, Durability, JsonlSink};
use phisafe::crypto::{
    Context, FieldCipher, FieldCipherBuilder, FileKeyStore, KeyAdmin,
    KeyProvider, KeyStore, LocalKek, Policy, Scope, audit_key, to_text,
};

/// Where the master key is.
#[derive(Args)]
pub(crate) struct MasterKey {
    /// Master key file (32 bytes, mode 0600), made by `phisafe keys init`.
    #[arg(long, env = "PHISAFE_KEY_FILE", default_value = "phisafe.key")]
    key_file: PathBuf,
    /// Read the master key from this environment variable instead (64 hex
    /// digits or base64).
    #[arg(long, value_name = "VAR", conflicts_with = "key_file")]
    key_env: Option<String>,
    #[cfg(feature = "pkcs11")]
    #[command(flatten)]
    pkcs11: Pkcs11Args,
}

impl MasterKey {
    pub(crate) fn provider(&self) -> anyhow::Result<Arc<dyn KeyProvider>> {
        #[cfg(feature = "pkcs11")]
        if let Some(hsm) = self.pkcs11.provider(false)? {
            return Ok(Arc::new(hsm));
        }
        Ok(match &self.key_env {
            Some(var) => Arc::new(LocalKek::from_env(var)?),
            None => Arc::new(LocalKek::from_file(&self.key_file)?),
        })
    }
}

/// Where the master key, keyring and audit log are.
#[derive(Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    master: MasterKey,
    /// Keyring file (wrapped data keys).
    #[arg(
        long,
        env = "PHISAFE_KEYRING",
        default_value = "phisafe-keyring.json"
    )]
    keyring: PathBuf,
    /// Audit log (JSONL, hash-chained).
    #[arg(
        long,
        env = "PHISAFE_AUDIT_LOG",
        default_value = "phisafe-audit.jsonl"
    )]
    audit_log: PathBuf,
}

/// A master key inside an HSM instead of a key file. The PIN comes from
/// `PHISAFE_PKCS11_PIN` only: command lines are visible to other users.
#[cfg(feature = "pkcs11")]
#[derive(Args, Clone)]
pub(crate) struct Pkcs11Args {
    /// PKCS#11 module of the HSM (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, env = "PHISAFE_PKCS11_MODULE", requires_all = ["pkcs11_token", "pkcs11_key"])]
    pkcs11_module: Option<PathBuf>,
    /// Label of the token holding the master key.
    #[arg(long, env = "PHISAFE_PKCS11_TOKEN")]
    pkcs11_token: Option<String>,
    /// Label of the master key (an AES-256 key) on the token.
    #[arg(long, env = "PHISAFE_PKCS11_KEY")]
    pkcs11_key: Option<String>,
}

#[cfg(feature = "pkcs11")]
impl Pkcs11Args {
    /// The HSM provider, if a module was given; `create` makes the key.
    fn provider(
        &self,
        create: bool,
    ) -> anyhow::Result<Option<phisafe::crypto::Pkcs11Kek>> {
        use phisafe::crypto::Pkcs11Kek;
        let (Some(module), Some(token), Some(key)) =
            (&self.pkcs11_module, &self.pkcs11_token, &self.pkcs11_key)
        else {
            return Ok(None);
        };
        let pin = zeroize::Zeroizing::new(
            std::env::var("PHISAFE_PKCS11_PIN")
                .context("set PHISAFE_PKCS11_PIN to the token's user PIN")?,
        );
        Ok(Some(if create {
            Pkcs11Kek::generate(module, token, &pin, key)?
        } else {
            Pkcs11Kek::open(module, token, &pin, key)?
        }))
    }
}

impl KeyArgs {
    fn provider(&self) -> anyhow::Result<Arc<dyn KeyProvider>> {
        self.master.provider()
    }

    /// The cipher's builder and its audit sink.
    fn parts(
        &self,
        policy: Policy,
    ) -> anyhow::Result<(FieldCipherBuilder, Arc<dyn AuditSink>)> {
        let provider = self.provider()?;
        let store = Arc::new(FileKeyStore::new(&self.keyring));
        let key = audit_key(&*provider, &*store)?;
        // Short-lived process: every record is synced before we go on.
        let sink =
            JsonlSink::open(&self.audit_log, key, Durability::EveryRecord)?;
        Ok((
            FieldCipher::builder(provider, store).policy(policy),
            Arc::new(sink),
        ))
    }

    fn open(&self, policy: Policy) -> anyhow::Result<FieldCipher> {
        let (builder, sink) = self.parts(policy)?;
        Ok(builder.build(sink)?)
    }

    fn open_admin(&self, policy: Policy) -> anyhow::Result<KeyAdmin> {
        let (builder, sink) = self.parts(policy)?;
        Ok(builder.build_admin(sink)?)
    }
}

/// Who is acting, and on which field.
#[derive(Args)]
pub(crate) struct Who {
    /// Scope: the field, as `table.column`.
    #[arg(long)]
    scope: String,
    /// Tenant, for per-tenant keys.
    #[arg(long)]
    tenant: Option<String>,
    #[command(flatten)]
    by: Actor,
}

impl Who {
    fn scope(&self) -> anyhow::Result<Scope> {
        Ok(match &self.tenant {
            Some(t) => Scope::with_tenant(&self.scope, t)?,
            None => Scope::new(&self.scope)?,
        })
    }
}

/// Who is acting, in which role, why, under which policy.
#[derive(Args)]
pub(crate) struct Actor {
    /// Actor recorded in the audit log (default: $USER).
    #[arg(long)]
    actor: Option<String>,
    /// Role checked by the policy.
    #[arg(long, default_value = "cli")]
    role: String,
    /// Purpose checked by the policy and recorded.
    #[arg(long, default_value = "admin")]
    purpose: String,
    /// Policy file (TOML). Without one, the holder of the master key may
    /// do everything.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

impl Actor {
    /// The actor's name: `--actor`, else `$USER`.
    pub(crate) fn name(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into())
    }

    /// A context for `row` of `scope`, acting as `name`.
    pub(crate) fn context<'a>(
        &'a self,
        scope: &'a Scope,
        row: &'a str,
        name: &'a str,
    ) -> Context<'a> {
        Context::new(scope, row)
            .actor(name)
            .role(&self.role)
            .purpose(&self.purpose)
    }

    pub(crate) fn policy(&self) -> anyhow::Result<Policy> {
        match &self.policy {
            None => Ok(Policy::allow_all()),
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read policy {}", p.display())
                })?;
                Ok(Policy::from_toml(&text)
                    .with_context(|| format!("policy {}", p.display()))?)
            }
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new master key file (refuses to overwrite one).
    Init {
        /// Where to write it.
        #[arg(long, env = "PHISAFE_KEY_FILE", default_value = "phisafe.key")]
        key_file: PathBuf,
        #[cfg(feature = "pkcs11")]
        #[command(flatten)]
        pkcs11: Pkcs11Args,
    },
    /// List the data keys in the keyring (no key material).
    List {
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Make a new data key version active for a scope.
    Rotate {
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        who: Who,
    },
    /// Rewrap every data key under a new master key (KEK rotation).
    Rewrap {
        #[command(flatten)]
        keys: KeyArgs,
        /// The new master key file (`phisafe keys init --key-file NEW`).
        #[arg(long, required_unless_present = "new_pkcs11_key")]
        new_key_file: Option<PathBuf>,
        /// Or the label of a new master key on the same HSM token.
        #[arg(long, conflicts_with = "new_key_file")]
        new_pkcs11_key: Option<String>,
        /// Actor recorded in the audit log (default: $USER).
        #[arg(long)]
        actor: Option<String>,
    },
    /// Destroy a data key version: its values become unrecoverable.
    Destroy {
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        who: Who,
        /// The version to destroy.
        #[arg(long)]
        version: u32,
        /// Confirmation: exactly "destroy SCOPE vVERSION". Asked for on a
        /// terminal when missing.
        #[arg(long)]
        confirm: Option<String>,
    },
}

#[derive(Args)]
pub(crate) struct CryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    who: Who,
    /// Row reference the value belongs to (the row's key, not PHI).
    #[arg(long)]
    row: String,
    /// Request id recorded in the audit log.
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Args)]
pub(crate) struct EncryptArgs {
    #[command(flatten)]
    common: CryptArgs,
    /// Write the binary envelope instead of the text form (`psf:...`).
    #[arg(long)]
    binary: bool,
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check an audit log's hash chain and report the first bad record.
    Verify {
        #[command(flatten)]
        keys: KeyArgs,
        /// The log to check (default: --audit-log).
        file: Option<PathBuf>,
        /// Check the audit chains in this database instead (the keyring
        /// is read from it too).
        #[arg(long, value_name = "URL", conflicts_with = "file")]
        db: Option<String>,
        /// A checkpoint from `audit checkpoint` (with --db: of every
        /// chain): the log must still hold the head it saw, so records cut
        /// off the end, or a log begun again, are reported (a chain alone
        /// cannot show them).
        #[arg(long, value_name = "FILE")]
        expect_head: Option<PathBuf>,
    },
    /// Verify a log and write a checkpoint of its head (JSON, MACed under
    /// the audit key) for `audit verify --expect-head`. Keep it where
    /// whoever can write the log cannot.
    Checkpoint {
        #[command(flatten)]
        keys: KeyArgs,
        /// The log (default: --audit-log).
        file: Option<PathBuf>,
        /// Checkpoint every audit chain in this database instead.
        #[arg(long, value_name = "URL", conflicts_with = "file")]
        db: Option<String>,
        /// Where to write the checkpoint (atomically).
        #[arg(long, short)]
        output: PathBuf,
    },
}

pub(crate) fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Init {
            key_file,
            #[cfg(feature = "pkcs11")]
            pkcs11,
        } => {
            #[cfg(feature = "pkcs11")]
            if let Some(hsm) = pkcs11.provider(true)? {
                eprintln!(
                    "created master key {} in the HSM (not extractable)",
                    hsm.kek_id()
                );
                return Ok(());
            }
            let kek = LocalKek::create_file(&key_file)?;
            eprintln!(
                "created master key {} in {} (mode 0600); back it up: without it every value \
                 encrypted under it is lost",
                kek.kek_id(),
                key_file.display()
            );
            Ok(())
        }
        KeysCommand::List { keys } => {
            let ring = FileKeyStore::new(&keys.keyring).load()?;
            let mut out = io::stdout().lock();
            writeln!(
                out,
                "{:<32} {:<8} {:>7}  {:<12} {:<22} CREATED",
                "SCOPE", "PURPOSE", "VERSION", "STATE", "KEK"
            )?;
            for k in &ring.keys {
                writeln!(
                    out,
                    "{:<32} {:<8} {:>7}  {:<12} {:<22} {}",
                    k.scope,
                    k.purpose.as_str(),
                    k.version,
                    k.state.as_str(),
                    k.kek_id,
                    k.created
                )?;
            }
            Ok(())
        }
        KeysCommand::Rotate { keys, who } => {
            let admin = keys.open_admin(who.by.policy()?)?;
            let scope = who.scope()?;
            let actor = who.by.name();
            let v = admin.rotate(&who.by.context(&scope, "", &actor))?;
            eprintln!(
                "scope {scope}: version {v} is now active; older versions still decrypt"
            );
            Ok(())
        }
        KeysCommand::Rewrap { keys, new_key_file, new_pkcs11_key, actor } => {
            let admin = keys.open_admin(Policy::allow_all())?;
            let new: Box<dyn KeyProvider> = match (
                new_key_file,
                new_pkcs11_key,
            ) {
                (Some(file), _) => Box::new(LocalKek::from_file(&file)?),
                #[cfg(feature = "pkcs11")]
                (None, Some(label)) => {
                    let mut args = keys.master.pkcs11.clone();
                    args.pkcs11_key = Some(label);
                    match args.provider(false)? {
                        Some(hsm) => Box::new(hsm),
                        None => bail!(
                            "--new-pkcs11-key needs --pkcs11-module and --pkcs11-token"
                        ),
                    }
                }
                _ => bail!(
                    "give --new-key-file (or --new-pkcs11-key with the pkcs11 feature)"
                ),
            };
            let scope = Scope::new("phisafe.keyring")?;
            let actor = actor
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".into());
            let ctx = Context::new(&scope, "")
                .actor(&actor)
                .role("cli")
                .purpose("kek-rotation");
            let n = admin.rewrap(&ctx, &*new)?;
            eprintln!(
                "rewrapped {n} data keys under {}; use it as the master key from now on",
                new.kek_id(),
            );
            Ok(())
        }
        KeysCommand::Destroy { keys, who, version, confirm } => {
            let scope = who.scope()?;
            let expected = format!("destroy {scope} v{version}");
            let confirm = match confirm {
                Some(c) => c,
                None if io::stdin().is_terminal() => {
                    eprint!(
                        "Destroying {scope} version {version} makes every value sealed with it \
                         unrecoverable.\nType \"{expected}\" to confirm: "
                    );
                    let mut line = String::new();
                    io::stdin().read_line(&mut line)?;
                    line.trim_end().to_string()
                }
                None => bail!(
                    "refusing to destroy a key without --confirm \"{expected}\""
                ),
            };
            let admin = keys.open_admin(who.by.policy()?)?;
            let actor = who.by.name();
            let ctx = who.by.context(&scope, "", &actor);
            admin.destroy(&ctx, version, &confirm)?;
            eprintln!(
                "destroyed {scope} version {version}; remember backups of the keyring"
            );
            Ok(())
        }
    }
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io::stdin().lock().read_to_end(&mut buf).context("cannot read stdin")?;
    Ok(buf)
}

pub(crate) fn encrypt(args: EncryptArgs) -> anyhow::Result<()> {
    let c = &args.common;
    let cipher = c.keys.open(c.who.by.policy()?)?;
    let scope = c.who.scope()?;
    let actor = c.who.by.name();
    let mut ctx = c.who.by.context(&scope, &c.row, &actor);
    if let Some(id) = &c.request_id {
        ctx = ctx.request_id(id);
    }
    let plain = zeroize::Zeroizing::new(read_stdin()?);
    let sealed = cipher.encrypt_phi(&ctx, &plain)?;
    let mut out = io::stdout().lock();
    if args.binary {
        out.write_all(&sealed)?;
    } else {
        writeln!(out, "{}", to_text(&sealed))?;
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn decrypt(c: CryptArgs) -> anyhow::Result<()> {
    let cipher = c.keys.open(c.who.by.policy()?)?;
    let scope = c.who.scope()?;
    let actor = c.who.by.name();
    let mut ctx = c.who.by.context(&scope, &c.row, &actor);
    if let Some(id) = &c.request_id {
        ctx = ctx.request_id(id);
    }
    // A text form's trailing newline (from `echo`) is dropped by the
    // library; a binary envelope is taken byte for byte.
    let input = read_stdin()?;
    let plain = cipher.decrypt_phi(&ctx, &input)?;
    cipher.flush_audit()?;
    let mut out = io::stdout().lock();
    out.write_all(&plain)?;
    out.flush()?;
    Ok(())
}

/// The audit key from the keyring file, and the JSONL log to read.
fn file_log(
    keys: KeyArgs,
    file: Option<PathBuf>,
) -> anyhow::Result<(audit::AuditKey, PathBuf)> {
    let provider = keys.provider()?;
    let key = audit_key(&*provider, &FileKeyStore::new(&keys.keyring))?;
    Ok((key, file.unwrap_or(keys.audit_log)))
}

fn open_log(
    path: &std::path::Path,
) -> anyhow::Result<io::BufReader<std::fs::File>> {
    Ok(io::BufReader::new(
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?,
    ))
}

/// Returns whether the chain verified.
pub(crate) fn audit(cmd: AuditCommand) -> anyhow::Result<bool> {
    match cmd {
        AuditCommand::Verify { keys, db: Some(url), expect_head, .. } => {
            crate::db::verify(&url, &keys.master, expect_head.as_deref())
        }
        AuditCommand::Checkpoint { keys, db: Some(url), output, .. } => {
            crate::db::checkpoint(&url, &keys.master, &output)?;
            Ok(true)
        }
        AuditCommand::Checkpoint { keys, file, output, db: None } => {
            let (key, path) = file_log(keys, file)?;
            let report = audit::verify(&key, open_log(&path)?)?;
            let Some(cp) = audit::Checkpoint::of(
                &key,
                &report,
                std::time::SystemTime::now(),
            ) else {
                bail!(
                    "{} is empty or its chain is broken (run `phisafe audit verify`): no \
                     checkpoint written",
                    path.display()
                );
            };
            cp.save(&output).with_context(|| {
                format!("cannot write {}", output.display())
            })?;
            println!(
                "{}: checkpoint of record {} written to {}",
                path.display(),
                cp.seq,
                output.display()
            );
            Ok(true)
        }
        AuditCommand::Verify { keys, file, db: None, expect_head } => {
            let (key, path) = file_log(keys, file)?;
            let reader = open_log(&path)?;
            let expect = match &expect_head {
                Some(cp) => {
                    Some(audit::Checkpoint::load(cp).with_context(|| {
                        format!("cannot read checkpoint {}", cp.display())
                    })?)
                }
                None => None,
            };
            let report = audit::verify_with(&key, reader, expect.as_ref())?;
            match (&report.first_bad, &report.head) {
                (None, Some((seq, mac))) => {
                    let held = match &expect {
                        Some(cp) => format!(
                            "; holds the head of the checkpoint of {}",
                            cp.taken
                        ),
                        None => String::new(),
                    };
                    println!(
                        "{}: {} records, chain intact; head seq {seq} mac {mac}{held}",
                        path.display(),
                        report.valid
                    );
                    Ok(true)
                }
                (None, None) => {
                    println!("{}: empty log", path.display());
                    Ok(true)
                }
                (Some(bad), _) => {
                    println!(
                        "{}: chain broken at line {} ({} records valid before it): {}",
                        path.display(),
                        bad.line,
                        report.valid,
                        bad.reason
                    );
                    Ok(false)
                }
            }
        }
    }
}
