using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EtlStream.Pipeline;
using EtlStream.Security;
using EtlStream.Tables;
using EtlStream.Tenancy;

namespace EtlStream.Cli.Commands;

/// <summary><c>run</c>, <c>validate</c>, <c>init-db</c> and <c>tenants</c>: the per-tenant commands cron and Airflow call.</summary>
internal static class TenantCommands
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public static IEnumerable<Command> Create()
    {
        yield return Run();
        yield return Validate();
        yield return InitDb();
        yield return Tenants();
        yield return Explain();
        yield return StateCommands.Runs();
        yield return StateCommands.Backfill();
        yield return LedgerCommand.Create();
    }

    /// <summary><c>--memory-budget 256MiB</c>: what the mesh may hold at once (see <see cref="MemoryPlan"/>).</summary>
    public static Option<long> MemoryBudgetOption()
    {
        var option = new Option<long>("--memory-budget")
        {
            Description = "Bytes the mesh may hold at once (batches, chunks, read-ahead, unique keys), e.g. 256MiB or 1GiB; the runtime adds ~120 MB.",
            DefaultValueFactory = _ => LoadOptions.DefaultMemoryBudget,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (ByteSize.TryParse(text, out var bytes))
                {
                    return bytes;
                }

                r.AddError($"--memory-budget: expected a size such as 256MiB or 1GiB, got '{text}'");
                return 0;
            },
        };
        return option;
    }

    /// <summary>The budget a tenant's load gets: <c>--memory-budget</c> when given, else the tenant's <c>memory_budget</c>, else the default.</summary>
    public static long MemoryBudgetFor(ParseResult parse, Option<long> option, TenantConfig tenant) =>
        parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : tenant.MemoryBudget ?? LoadOptions.DefaultMemoryBudget;

    private static Command Explain()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var job = new Option<string>("--job") { Description = "Job name.", Required = true };
        var budget = MemoryBudgetOption();
        var command = new Command("explain", "Print the mesh a job would run: steps, blocks, capacities, parallelism, sinks, memory budget and bound.") { tenant, job, budget };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var t = TenantConfigReader.Read(roots.Find(parse).Configs, parse.GetRequiredValue(tenant));
            var jobName = parse.GetRequiredValue(job);
            if (!t.Jobs.TryGetValue(jobName, out var j))
            {
                throw new ConfigException([$"tenant '{t.Id}' has no job '{jobName}' (jobs: {string.Join(", ", t.Jobs.Keys)})"]);
            }

            Console.Write(Redaction.Redact(await ExplainAsync(t, j, new LoadOptions { MemoryBudget = MemoryBudgetFor(parse, budget, t) })));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    internal static async Task<string> ExplainAsync(TenantConfig tenant, JobConfig job, LoadOptions options)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"explain: tenant {tenant.Id} ({tenant.DisplayName}), job {job.Name}, into {tenant.Sink.Kind} database {tenant.Database}");
        sb.AppendLine($"  steps, in order: {string.Join(" -> ", JobPlan.Order(job.Steps)!.Select(s => s.Name))}");
        foreach (var step in JobPlan.Order(job.Steps)!)
        {
            foreach (var table in step.Tables)
            {
                var t = tenant.Tables[table];
                // The sink the run would build, as its provider describes it (concurrency, chunk size); nothing connects.
                var sink = await tenant.Sink.Provider.DescribeAsync(tenant, t, step.Mode);
                sb.AppendLine($"  {step.Name} / {table} ({step.Mode.ToString().ToLowerInvariant()}) <- {tenant.Source.Provider.PatternRoot(tenant.Source)}{t.FilePattern}");
                sb.Append(MeshDescription.Describe(options, t.Spec.Csv, sink.Name, sink.MaxConcurrency, sink.ChunkRows, sink.ChunkBytes, t.Spec.Columns.Count(c => c.Rules.Unique)));
                if (sink.Settings is { } settings)
                {
                    sb.AppendLine($"    sink sets  {settings}");
                }
            }
        }

        return sb.ToString();
    }

    private static Command Run()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string?>("--tenant") { Description = "Tenant id (a folder under configs/tenants); required unless --resume." };
        var job = new Option<string?>("--job") { Description = "Job name from the tenant's tenant.yaml; required unless --resume." };
        var date = new Option<string?>("--date") { Description = "Run date (yyyy-MM-dd) for the {date} in file patterns; default today." };
        var state = StateCommands.StateOption();
        var resume = new Option<string?>("--resume") { Description = "Run again the tenant, job and date of this run id (see `etlstream runs`); loads what it did not commit." };
        var reload = StateCommands.ReloadOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "Resolve files, validate config and schemas, print the plan; load nothing." };
        var report = new Option<string?>("--report") { Description = "Write a JSON run report to this file." };
        var logs = new Option<string?>("--logs") { Description = "Folder of per-tenant log files (default: logs/ under the config root)." };
        var output = LoadCommand.OutputOption();
        var noProgress = LoadCommand.NoProgressOption();
        var metrics = Telemetry.MetricsOption();
        var budget = MemoryBudgetOption();
        var command = new Command("run", "Run a tenant's job for a date. Files the load ledger has are not loaded again, so a rerun after a crash loads exactly what is missing.")
        {
            tenant, job, date, state, resume, reload, dryRun, report, logs, output, noProgress, metrics, budget,
        };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var json = parse.GetValue(output) == "json";
            var reportPath = parse.GetValue(report);
            var recorded = false;
            try
            {
                using var telemetry = Telemetry.Start(parse.GetValue(metrics));
                var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
                var home = roots.Find(parse);
                await using var ledger = await State.LoadLedger.OpenAsync(parse.GetValue(state) ?? home.Ledger, token);
                var (tenantId, jobName, runDate) = await StateCommands.RunTargetAsync(ledger, parse.GetValue(resume), parse.GetValue(tenant), parse.GetValue(job), parse.GetValue(date), token);
                var configRoot = home.Configs;
                if (parse.GetValue(dryRun))
                {
                    var dry = await JobPlan.BuildAsync(TenantConfigReader.Read(configRoot, tenantId), jobName, runDate, token, lateFiles: true);
                    Console.Write(Redaction.Redact(dry.Describe()));
                    return ExitCodes.Success;
                }

                RequireTenant(configRoot, tenantId);
                recorded = true;
                return await RecordedRunAsync(parse, ledger, parse.GetValue(logs) ?? home.Logs, tenantId, jobName, runDate, $"{runDate:yyyy-MM-dd}-{jobName}", reportPath, json, async (log, logger, runId, soFar) =>
                {
                    var tenantConfig = TenantConfigReader.Read(configRoot, tenantId);
                    soFar.Database = tenantConfig.Database;
                    var plan = await JobPlan.BuildAsync(tenantConfig, jobName, runDate, token, lateFiles: true);
                    log.Write(plan.Describe());
                    var started = DateTime.UtcNow;
                    var results = await TenantJobRunner.RunAsync(plan, new LoadOptions { RejectsPath = home.Rejects, MemoryBudget = MemoryBudgetFor(parse, budget, tenantConfig) }, logger, token,
                        (load, pipeline, run) => progress.RunAsync(load.Table.Name, pipeline, load.Files, run), new LedgerRun(ledger, runId) { Reload = parse.GetValue(reload) });
                    soFar.Results.AddRange(results);
                    if (!json)
                    {
                        Console.Write(SummaryTable(results));
                    }

                    return string.Create(CultureInfo.InvariantCulture,
                        $"{tenantConfig.Id}/{plan.Job.Name} {runDate:yyyy-MM-dd}: loaded {LoadCommand.Count(results.Sum(r => r.Result.RowsLoaded), "row")} into {LoadCommand.Count(results.Count, "table load")} in {(DateTime.UtcNow - started).TotalSeconds:F1} s; {LoadCommand.Count(results.Sum(r => r.AlreadyLoaded), "file")} already loaded (run {runId})");
                }, token);
            }
            catch (Exception e) when (json && !recorded)
            {
                // Refused before the tenant was known (bad options, an unknown tenant or run id): no run to record, but
                // machines reading stdout still get one JSON object with the error.
                Console.WriteLine(JobReport(parse.GetValue(tenant), parse.GetValue(job), null, null, null, ErrorStatus(e, token), ErrorText(e, token), []));
                throw;
            }
        }, ct));
        return command;
    }

    /// <summary>The tenant's folder exists under the config root: from here on a run is recorded, whatever fails next.</summary>
    internal static void RequireTenant(string configRoot, string tenantId)
    {
        if (!TenantConfigReader.TenantIds(configRoot).Contains(tenantId, StringComparer.Ordinal))
        {
            _ = TenantConfigReader.Read(configRoot, tenantId); // throws the reader's own "no tenant '…'" error
        }
    }

    /// <summary>What a recorded run has done so far: a failure's runs row and report show it too.</summary>
    internal sealed class RunSoFar
    {
        public string? Database { get; set; }

        public List<TableLoadResult> Results { get; } = [];
    }

    /// <summary>
    /// A tenant job or backfill run as a recorded run: once the tenant is known, whatever happens next (its config is
    /// invalid, its files have not arrived, a load fails, Ctrl+C) the run has its <c>runs</c> row, its log file under
    /// <paramref name="logsRoot"/>, its <c>--report</c> and, with <c>--output json</c>, its JSON on stdout, each with
    /// the error. <paramref name="body"/> returns the summary line.
    /// </summary>
    internal static async Task<int> RecordedRunAsync(
        ParseResult parse, State.LoadLedger ledger, string logsRoot, string tenantId, string job, DateOnly date, string logName, string? reportPath, bool json,
        Func<TenantLogFile, Microsoft.Extensions.Logging.ILogger, string, RunSoFar, Task<string>> body, CancellationToken token)
    {
        using var log = TenantLogFile.Open(logsRoot, tenantId, SafeFileName(logName));
        using var loggers = CliLogging.Create(parse, log);
        var runId = await ledger.StartRunAsync(tenantId, job, date, token);
        var soFar = new RunSoFar();
        string summary;
        try
        {
            summary = await body(log, loggers.CreateLogger("etlstream"), runId, soFar);
        }
        catch (Exception e)
        {
            var error = ErrorText(e, token);
            var status = ErrorStatus(e, token);
            foreach (var line in error.Split('\n'))
            {
                log.Write("error: " + line);
            }

            // One line in the runs row, so that `etlstream runs` stays one run a line.
            await ledger.FinishRunAsync(runId, status == "cancelled" ? State.RunStatus.Cancelled : State.RunStatus.Failed,
                soFar.Results.Sum(r => r.Result.RowsLoaded), soFar.Results.Sum(r => r.Result.Files), error.ReplaceLineEndings("; "), CancellationToken.None);
            var failed = JobReport(tenantId, job, date, soFar.Database, runId, status, error, soFar.Results);
            if (json)
            {
                Console.WriteLine(failed);
            }

            await TryWriteReportAsync(reportPath, failed);
            throw;
        }

        var results = soFar.Results;
        await ledger.FinishRunAsync(runId, State.RunStatus.Succeeded, results.Sum(r => r.Result.RowsLoaded), results.Sum(r => r.Result.Files), null, CancellationToken.None);
        log.Write(summary);
        var reportJson = JobReport(tenantId, job, date, soFar.Database, runId, "succeeded", null, results);
        Console.WriteLine(json ? reportJson : summary);
        await TryWriteReportAsync(reportPath, reportJson);
        return ExitCodes.Success;
    }

    /// <summary>The error as the runs row, the log and the report show it: every line of a config error, secrets scrubbed.</summary>
    internal static string ErrorText(Exception e, CancellationToken token) =>
        e is OperationCanceledException && token.IsCancellationRequested ? "cancelled: tables loaded before it stay committed; run it again to finish"
        : Redaction.Redact(e is ConfigException c ? string.Join("\n", c.Errors) : e.Message).ReplaceLineEndings("\n");

    internal static string ErrorStatus(Exception e, CancellationToken token) =>
        e is OperationCanceledException && token.IsCancellationRequested ? "cancelled" : "failed";

    /// <summary>A job or table name as part of a log file's name: nothing in it can leave the tenant's log folder.</summary>
    private static string SafeFileName(string name) =>
        string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')).Replace("..", "__", StringComparison.Ordinal);

    private static Command Validate()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string?>("--tenant") { Description = "Validate one tenant (all of them are read, to check isolation)." };
        var command = new Command("validate", "Check config, mappings and schemas; list every error with its file and path.") { tenant };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(token =>
        {
            var errors = TenantConfigReader.Validate(roots.Find(parse).Configs, parse.GetValue(tenant), out var valid);
            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }

            Console.WriteLine($"valid: {valid} tenant{(valid == 1 ? "" : "s")}");
            return Task.FromResult(ExitCodes.Success);
        }, ct));
        return command;
    }

    private static Command InitDb()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var command = new Command("init-db", "Create the tenant's database, its tables and row-level-security views.") { tenant };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var tenantConfig = TenantConfigReader.Read(roots.Find(parse).Configs, parse.GetRequiredValue(tenant));
            var created = await TenantDatabase.InitializeAsync(tenantConfig, token);
            Console.WriteLine($"{tenantConfig.Id}: database {tenantConfig.Database} ready ({tenantConfig.Sink.Path}): {string.Join(", ", created)}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Tenants()
    {
        var roots = new ConfigRootOptions();
        var command = new Command("tenants", "List tenants and their jobs.");
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(token =>
        {
            var configs = roots.Find(parse).Configs;
            var tenants = TenantConfigReader.ReadAll(configs, out var errors);
            if (TenantConfigReader.TenantIds(configs).Count == 0)
            {
                Console.Error.WriteLine($"no tenants under {Path.Combine(configs, "tenants")}: add one by copying {Path.Combine(configs, "tenants", "_template")} to {Path.Combine(configs, "tenants", "<id>")}");
            }

            foreach (var t in tenants)
            {
                Console.WriteLine($"{t.Id,-16} {t.DisplayName,-28} database {t.Database,-22} jobs: {string.Join(", ", t.Jobs.Keys)}");
            }

            foreach (var e in errors)
            {
                Console.Error.WriteLine($"warning: {ExitCodes.Printable(e)}");
            }

            return Task.FromResult(errors.Count > 0 ? ExitCodes.Usage : ExitCodes.Success);
        }, ct));
        return command;
    }

    /// <summary>The human summary at the end of a run: one row per table load.</summary>
    private static string SummaryTable(IReadOnlyList<TableLoadResult> results)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"table",-26}{"mode",-9}{"files",6}{"rows read",13}{"loaded",13}{"filtered",10}{"rejected",10}{"seconds",9}  bottleneck");
        foreach (var r in results)
        {
            var x = r.Result;
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Table,-26}{r.Mode,-9}{x.Files,6}{x.RowsRead,13:N0}{x.RowsLoaded,13:N0}{x.RowsFiltered,10:N0}{x.RowsRejected,10:N0}{x.Elapsed.TotalSeconds,9:F1}  {x.Bottleneck}");
        }

        return sb.ToString();
    }

    internal static string JobReport(string? tenant, string? job, DateOnly? date, string? database, string? runId, string status, string? error, IReadOnlyList<TableLoadResult> results)
    {
        var report = new
        {
            status,
            error,
            runId,
            tenant,
            job,
            date = date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            database,
            rowsRead = results.Sum(r => r.Result.RowsRead),
            rowsLoaded = results.Sum(r => r.Result.RowsLoaded),
            rowsRejected = results.Sum(r => r.Result.RowsRejected),
            tables = results.Select(r => new
            {
                step = r.Step,
                table = r.Table,
                mode = r.Mode,
                files = r.Files,
                report = RunReport.From(r.Result, string.Join(", ", r.Files), database ?? "", r.Table),
            }),
        };
        return Redaction.Redact(JsonSerializer.Serialize(report, Json));
    }

    /// <summary>Writes the report; one that cannot be written is a warning, so it never hides the run's own outcome.</summary>
    private static async Task TryWriteReportAsync(string? path, string json)
    {
        if (path is null)
        {
            return;
        }

        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(path, json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync(Redaction.Redact($"warning: --report {path}: the report was not written ({e.Message})"));
        }
    }

    internal static DateOnly ParseDate(string? text) =>
        text is null ? DateOnly.FromDateTime(DateTime.Today)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new ConfigException([$"--date: '{text}' is not a date in the form yyyy-MM-dd"]);
}
