using System.CommandLine;
using System.Globalization;
using EtlStream.Pipeline;
using EtlStream.Security;
using EtlStream.Sinks.StarRocks;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;

namespace EtlStream.Cli.Commands;

/// <summary><c>runs</c> and <c>backfill</c>: the load ledger's commands, and what <c>run</c> shares with them.</summary>
internal static class StateCommands
{
    public static Option<string?> StateOption() =>
        new("--state") { Description = "The load ledger (SQLite) that makes runs exactly-once and resumable (default: state/ledger.db under the config root)." };

    public static Option<bool> ReloadOption() => new("--reload")
    {
        Description = "Load the date's files again even though the ledger has them. Refused where rows would double: an append step, except into a Parquet lake or a DuckDB table with a source_file column (their earlier rows are replaced).",
    };

    /// <summary>The tenant, job and date a <c>run</c> is for: from <c>--resume</c>'s run, or from the options.</summary>
    public static async Task<(string Tenant, string Job, DateOnly Date)> RunTargetAsync(LoadLedger ledger, string? resume, string? tenant, string? job, string? date, CancellationToken token)
    {
        if (resume is not null)
        {
            var run = await ledger.RunAsync(resume, token) ?? throw new ConfigException([$"--resume: no run '{resume}' in {ledger.Path} (see `etlstream runs`)"]);
            if ((tenant is not null && tenant != run.Tenant) || (job is not null && job != run.Job))
            {
                throw new ConfigException([$"--resume {resume} is {run.Tenant}/{run.Job}; --tenant/--job say otherwise"]);
            }

            return (run.Tenant, run.Job, run.RunDate);
        }

        if (tenant is null || job is null)
        {
            throw new ConfigException(["run: --tenant and --job are required (or --resume <run-id>)"]);
        }

        return (tenant, job, TenantCommands.ParseDate(date));
    }

    public static Command Runs()
    {
        var state = StateOption();
        var roots = new ConfigRootOptions();
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant's runs." };
        var limit = new Option<int>("--limit") { Description = "How many runs, newest first.", DefaultValueFactory = _ => 20 };
        var command = new Command("runs", "List past runs from the load ledger: id, tenant, job, date, status, rows.") { state, tenant, limit };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            await using var ledger = await LoadLedger.OpenAsync(parse.GetValue(state) ?? roots.Find(parse).Ledger, token);
            var runs = await ledger.RunsAsync(parse.GetValue(tenant), parse.GetValue(limit), token);
            Console.WriteLine($"{"run",-24}{"tenant",-16}{"job",-12}{"date",-12}{"status",-11}{"rows",14}{"files",7}  started (UTC)");
            foreach (var r in runs)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.RunId,-24}{r.Tenant,-16}{r.Job,-12}{r.RunDate:yyyy-MM-dd}  {r.Status.ToString().ToLowerInvariant(),-11}{r.RowsLoaded,14:N0}{r.FilesLoaded,7}  {r.StartedAt:yyyy-MM-dd HH:mm:ss}{(r.Error is null ? "" : "  " + r.Error)}"));
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command Backfill()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var table = new Option<string>("--table") { Description = "The tenant's table to backfill.", Required = true };
        var from = new Option<string>("--from") { Description = "First file date (yyyy-MM-dd), included.", Required = true };
        var to = new Option<string>("--to") { Description = "Last file date (yyyy-MM-dd), included.", Required = true };
        var shard = new Option<string>("--shard") { Description = "i/N: load only this machine's share (0 <= i < N); N machines with 0/N … N-1/N cover the range once.", DefaultValueFactory = _ => "0/1" };
        var plan = new Option<bool>("--plan") { Description = "Print the files per date (and which are already loaded); load nothing." };
        var parallelFiles = new Option<int>("--parallel-files") { Description = "Files of a date read at once.", DefaultValueFactory = _ => new LoadOptions().ParallelFiles };
        var inCluster = new Option<bool>("--in-cluster")
        {
            Description = "StarRocks tenants: the cluster reads the files itself, one INSERT ... SELECT FROM FILES(...) per file (StarRocks 3.3+); --plan prints the statements.",
        };
        var state = StateOption();
        var reload = ReloadOption();
        var report = new Option<string?>("--report") { Description = "Write a JSON run report to this file (a failed run's too, with its error)." };
        var logs = new Option<string?>("--logs") { Description = "Folder of per-tenant log files (default: logs/ under the config root)." };
        var output = LoadCommand.OutputOption();
        var noProgress = LoadCommand.NoProgressOption();
        var budget = TenantCommands.MemoryBudgetOption();
        var command = new Command("backfill", "Load a table's files for a date range, date by date, resumable through the load ledger.")
        {
            tenant, table, from, to, shard, plan, parallelFiles, inCluster, state, reload, report, logs, output, noProgress, budget,
        };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var json = parse.GetValue(output) == "json";
            ConfigRoot home;
            try
            {
                home = roots.Find(parse);
            }
            catch (ConfigException e) when (json)
            {
                Console.WriteLine(TenantCommands.JobReport(parse.GetValue(tenant), "backfill", null, null, null, "failed", TenantCommands.ErrorText(e, token), []));
                throw;
            }

            var statePath = parse.GetValue(state) ?? home.Ledger;
            if (parse.GetValue(inCluster))
            {
                if (parse.GetValue(reload))
                {
                    throw new ConfigException(["--reload: an in-cluster backfill submits each file under its load label, which the cluster will not load twice; run a streaming backfill, or a replace step"]);
                }

                var clusterTenant = TenantConfigReader.Read(home.Configs, parse.GetRequiredValue(tenant));
                return await InClusterAsync(parse, clusterTenant, parse.GetRequiredValue(table), TenantCommands.ParseDate(parse.GetRequiredValue(from)),
                    TenantCommands.ParseDate(parse.GetRequiredValue(to)), Shard.Parse(parse.GetRequiredValue(shard)), parse.GetValue(plan), parse.GetValue(parallelFiles), statePath, token);
            }

            if (parse.GetValue(plan))
            {
                var tenantConfig = TenantConfigReader.Read(home.Configs, parse.GetRequiredValue(tenant));
                var planned = await BackfillPlan.BuildAsync(tenantConfig, parse.GetRequiredValue(table),
                    TenantCommands.ParseDate(parse.GetRequiredValue(from)), TenantCommands.ParseDate(parse.GetRequiredValue(to)), Shard.Parse(parse.GetRequiredValue(shard)), token);
                await using var planLedger = await LoadLedger.OpenAsync(statePath, token);
                var loaded = (await planLedger.CommittedAsync(tenantConfig.Id, TenantJobRunner.TargetOf(tenantConfig, planned.Table), token)).Keys.ToHashSet(StringComparer.Ordinal);
                Console.Write(Redaction.Redact(planned.Describe(loaded)));
                return ExitCodes.Success;
            }

            var tenantId = parse.GetRequiredValue(tenant);
            var tableName = parse.GetRequiredValue(table);
            var recorded = false;
            try
            {
                var configRoot = home.Configs;
                var first = TenantCommands.ParseDate(parse.GetRequiredValue(from));
                var last = TenantCommands.ParseDate(parse.GetRequiredValue(to));
                var shardOf = Shard.Parse(parse.GetRequiredValue(shard));
                TenantCommands.RequireTenant(configRoot, tenantId);
                await using var ledger = await LoadLedger.OpenAsync(statePath, token);
                recorded = true;
                return await TenantCommands.RecordedRunAsync(parse, ledger, parse.GetValue(logs) ?? home.Logs, tenantId, "backfill", last, $"{last:yyyy-MM-dd}-backfill-{tableName}", parse.GetValue(report), json, async (log, logger, runId, soFar) =>
                {
                    var tenantConfig = TenantConfigReader.Read(configRoot, tenantId);
                    soFar.Database = tenantConfig.Database;
                    var backfill = await BackfillPlan.BuildAsync(tenantConfig, tableName, first, last, shardOf, token);
                    if (parse.GetValue(reload) && TenantJobRunner.ReloadProblems(tenantConfig, [("backfill", backfill.Table, StepMode.Append)]) is { Count: > 0 } problems)
                    {
                        throw new ConfigException(problems);
                    }

                    var options = new LoadOptions { ParallelFiles = parse.GetValue(parallelFiles), RejectsPath = home.Rejects, MemoryBudget = TenantCommands.MemoryBudgetFor(parse, budget, tenantConfig) };
                    var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
                    foreach (var (date, dayFiles) in backfill.Days)
                    {
                        var load = new TableLoad("backfill", backfill.Table, StepMode.Append, dayFiles);
                        soFar.Results.Add(await TenantJobRunner.LoadTableAsync(tenantConfig, "backfill", date, load, options, logger, new LedgerRun(ledger, runId) { Reload = parse.GetValue(reload) },
                            (l, pipeline, run) => progress.RunAsync(string.Create(CultureInfo.InvariantCulture, $"{l.Table.Name} {date:yyyy-MM-dd}"), pipeline, l.Files, run), lateFrom: false, token));
                    }

                    return string.Create(CultureInfo.InvariantCulture,
                        $"{tenantConfig.Id}/{backfill.Table.Name} backfill {backfill.From:yyyy-MM-dd}..{backfill.To:yyyy-MM-dd} shard {backfill.Shard}: loaded {LoadCommand.Count(soFar.Results.Sum(r => r.Result.RowsLoaded), "row")} from {LoadCommand.Count(soFar.Results.Sum(r => r.Result.Files), "file")} (run {runId})");
                }, token);
            }
            catch (Exception e) when (json && !recorded)
            {
                Console.WriteLine(TenantCommands.JobReport(tenantId, "backfill", null, null, null, TenantCommands.ErrorStatus(e, token), TenantCommands.ErrorText(e, token), []));
                throw;
            }
        }, ct));
        return command;
    }

    /// <summary>
    /// <c>backfill --in-cluster</c>: the range compiled into one statement per file (everything the cluster cannot do is
    /// refused here, before anything is submitted), then submitted, each file booked once the cluster says FINISHED.
    /// </summary>
    private static async Task<int> InClusterAsync(
        ParseResult parse, TenantConfig tenant, string tableName, DateOnly from, DateOnly to, Shard shard, bool planOnly, int parallelFiles, string statePath, CancellationToken token)
    {
        var options = new InClusterLoadOptions { ParallelFiles = parallelFiles };
        var backfill = await BackfillPlan.BuildAsync(tenant, tableName, from, to, shard, token, InClusterPlan.HeaderReads);
        await using var ledger = await LoadLedger.OpenAsync(statePath, token);
        var target = TenantJobRunner.TargetOf(tenant, backfill.Table);
        var plan = await InClusterPlan.BuildAsync(StarRocksSinkProvider.InCluster(backfill), await ledger.CommittedAsync(tenant.Id, target, token), options, token);
        if (planOnly)
        {
            Console.Write(plan.Describe());
            return ExitCodes.Success;
        }

        using var loggers = CliLogging.Create(parse);
        var logger = loggers.CreateLogger("etlstream");
        var runId = await ledger.StartRunAsync(tenant.Id, "backfill", backfill.To, token);
        InClusterLoadResult result;
        try
        {
            result = await InClusterLoad.RunAsync(plan, ledger, runId, options, logger, token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await ledger.FinishRunAsync(runId, RunStatus.Failed, 0, 0, Redaction.Redact(e.Message), CancellationToken.None);
            throw;
        }

        await ledger.FinishRunAsync(runId, RunStatus.Succeeded, result.RowsLoaded, result.Loaded + result.Healed, null, CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{tenant.Id}/{backfill.Table.Name} in-cluster backfill {backfill.From:yyyy-MM-dd}..{backfill.To:yyyy-MM-dd} shard {backfill.Shard}: {result.RowsLoaded:N0} rows from {result.Loaded + result.Healed} files ({result.Loaded} submitted, {result.Healed} already committed under their labels, {result.AlreadyLoaded} already loaded) (run {runId})"));
        return ExitCodes.Success;
    }
}