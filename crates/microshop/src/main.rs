//! `microshop`: parse settings, run the chosen mode, exit with a meaningful code.
//!
//! Exit codes: 0 after a clean shutdown, 64 for a bad setting (EX_USAGE), 1 when a service
//! cannot start (a port taken, a database unreachable). `health-check` exits 0 when the service
//! is ready and 1 when it is not (Docker's contract).

use std::process::ExitCode;

use microshop::settings::{self, Invocation};
use microshop::{Stack, rotate_key, serve_one};
use platform::server;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let invocation = match settings::parse(std::env::args_os().collect()) {
        Ok(invocation) => invocation,
        Err(error) => {
            eprintln!("{}", error.0.trim_end());
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(invocation));
    // The last spans (the shutdown's own) leave before the process does; off the runtime's
    // threads, since the exporter sends through them.
    runtime.block_on(async {
        let _ = tokio::task::spawn_blocking(platform::traces::flush).await;
    });
    match outcome {
        Ok(code) => code,
        Err(error)
            if error.downcast_ref::<microshop::MissingSetting>().is_some()
                || error
                    .downcast_ref::<platform::traces::TracesError>()
                    .is_some() =>
        {
            eprintln!("{error}");
            ExitCode::from(64)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(invocation: Invocation) -> anyhow::Result<ExitCode> {
    match invocation {
        Invocation::Up(settings) => {
            platform::telemetry::init(settings.log_format, "microshop")?;
            let stack = Stack::start(&settings).await?;
            println!(
                "microshop is up: {}  (admin password in {})",
                stack.gateway_url(),
                settings.data_dir.join("admin-password").display()
            );
            for (service, addr) in &stack.addrs {
                tracing::info!(service = service.name(), %addr, "listening");
            }
            server::shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            if !stack.stop().await {
                tracing::warn!("some requests were still running after the drain timeout");
            }
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Serve(service, settings) => {
            platform::telemetry::init(settings.log_format, service.name())?;
            let shutdown = CancellationToken::new();
            let running = serve_one(service, &settings, shutdown.clone()).await?;
            println!(
                "microshop {} is up: http://{}",
                service.name(),
                running.addr
            );
            server::shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            shutdown.cancel();
            if !server::drain(vec![running]).await {
                tracing::warn!("some requests were still running after the drain timeout");
            }
            Ok(ExitCode::SUCCESS)
        }
        Invocation::RotateKey(settings) => {
            platform::telemetry::init(settings.log_format, "microshop")?;
            let kid = rotate_key(&settings).await?;
            println!(
                "new signing key {kid}: new tokens use it; older keys stay valid until their tokens expire"
            );
            Ok(ExitCode::SUCCESS)
        }
        Invocation::HealthCheck(check) => {
            let verdict = microshop::health_check::run(&check).await;
            if verdict.healthy {
                println!("{}", verdict.line);
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{}", verdict.line);
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
