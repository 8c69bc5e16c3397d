//! `cargo xtask compose-*` (being built).

/// Options of `compose-up`.
#[derive(clap::Args)]
pub struct UpArgs {}
/// Options of `compose-down`.
#[derive(clap::Args)]
pub struct DownArgs {}
/// Options of `compose-logs`.
#[derive(clap::Args)]
pub struct LogsArgs {}
/// Options of `compose-ps`.
#[derive(clap::Args)]
pub struct PsArgs {}

/// Runs `compose-up`.
pub fn up(_args: UpArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
/// Runs `compose-down`.
pub fn down(_args: DownArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
/// Runs `compose-logs`.
pub fn logs(_args: LogsArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
/// Runs `compose-ps`.
pub fn ps(_args: PsArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
