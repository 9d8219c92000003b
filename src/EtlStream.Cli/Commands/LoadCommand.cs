using System.CommandLine;
using System.Globalization;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Tables;

namespace EtlStream.Cli.Commands;

/// <summary><c>etlstream load &lt;input&gt; --table &lt;spec.yaml&gt; --to &lt;sink&gt; [--report &lt;file.json&gt;]</c> (pinned).</summary>
internal static class LoadCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A file, a folder or a glob (quote it: 'data/*.csv.gz'), or az://<container>/<prefix or glob>, s3://<bucket>/<prefix or glob>." };
        var table = new Option<string?>("--table") { Description = "Table spec YAML. Without it every column is a nullable string named from the header." };
        var to = new Option<string>("--to") { Description = $"Where to load: {SinkTarget.SupportedForms}.", Required = true };
        var report = new Option<string?>("--report") { Description = "Write a JSON run report to this file." };
        var parallelFiles = new Option<int>("--parallel-files") { Description = "Files read at the same time.", DefaultValueFactory = _ => new LoadOptions().ParallelFiles };
        var loadDate = new Option<string?>("--load-date") { Description = "The date load_date columns get (yyyy-MM-dd); default today." };
        var output = OutputOption();
        var noProgress = NoProgressOption();
        var metrics = Telemetry.MetricsOption();
        var rejects = new Option<string?>("--rejects") { Description = "Parquet file for rejected rows; default rejects/<table>-<time>.parquet (written only when rows are rejected)." };
        var rejectsTable = new Option<string?>("--rejects-table") { Description = "Also append rejected rows to a table, e.g. duckdb:<file>?table=etl_rejects." };
        var memoryBudget = TenantCommands.MemoryBudgetOption();

        var command = new Command("load", "Load files into a sink through the streaming pipeline.") { input, table, to, report, parallelFiles, loadDate, output, noProgress, metrics, rejects, rejectsTable, memoryBudget };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            using var telemetry = Telemetry.Start(parse.GetValue(metrics));
            var options = new LoadOptions
            {
                ParallelFiles = parse.GetValue(parallelFiles),
                LoadDate = ParseDate(parse.GetValue(loadDate)),
                RejectsPath = parse.GetValue(rejects),
                RejectsTable = parse.GetValue(rejectsTable),
                MemoryBudget = parse.GetValue(memoryBudget),
            };
            var json = parse.GetValue(output) == "json";
            var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
            var inputText = parse.GetValue(input)!;
            var target = parse.GetRequiredValue(to);
            using var loggers = CliLogging.Create(parse);
            var result = await LoadAsync(inputText, parse.GetValue(table), target, options, parse.GetValue(report), token, progress, loggers.CreateLogger("etlstream"));
            Console.WriteLine(json ? Redacted(RunReport.From(result.Result, inputText, target, result.Table)).ToJson() : Summary(result.Result));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary><c>--output text|json</c>: the summary line, or the run report on stdout for machines.</summary>
    public static Option<string> OutputOption() =>
        new Option<string>("--output") { Description = "text (one summary line) or json (the run report).", DefaultValueFactory = _ => "text" }.AcceptOnlyFromAmong("text", "json");

    public static Option<bool> NoProgressOption() => new("--no-progress") { Description = "No live progress display (it is also off when stderr is redirected and with NO_COLOR)." };

    /// <summary>
    /// The load itself, shared with <c>demo</c>: checks the report can be written, lists inputs, validates everything
    /// before touching the sink, runs, reports.
    /// </summary>
    public static async Task<(LoadResult Result, string Table)> LoadAsync(string input, string? tablePath, string target, LoadOptions options, string? reportPath, CancellationToken token, ProgressDisplay? progress = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        if (reportPath is not null)
        {
            CheckReportPath(reportPath);
        }

        var spec = tablePath is null ? null : TableSpecReader.ReadFile(tablePath);
        var pipeline = new LoadPipeline(options, logger);
        var files = await SourceStores.ListInputAsync(input, Environment.GetEnvironmentVariable, token, logger);
        var counted = progress?.Count(files) ?? files;
        var defaultTable = spec?.Name ?? Path.GetFileName(files[0].Name).Split('.')[0];
        LoadResult result;
        try
        {
            var sink = SinkTarget.Create(target, defaultTable);
            await using (sink)
            {
                result = (progress is null
                    ? await pipeline.RunAsync(files, spec, sink, token)
                    : await progress.RunAsync("loading", pipeline, files, () => pipeline.RunAsync(counted, spec, sink, token))).WithListing(files);
            }
        }
        catch (Exception e) when (reportPath is not null && e is not OperationCanceledException)
        {
            var soFar = pipeline.Progress;
            await TryWriteReportAsync(reportPath, new RunReport
            {
                Status = "failed",
                Error = e.Message,
                Input = input,
                Target = target,
                Table = spec?.Name ?? defaultTable,
                Files = files.Count,
                RowsRead = soFar.RowsRead,
                BytesRead = soFar.BytesRead,
            }, "the load failed (see the error below) and nothing was committed");
            throw;
        }

        if (reportPath is not null)
        {
            // The rows are committed: a report that cannot be written must not turn the run into a failure (a retry
            // would load them twice), so it is a warning and the exit code stays 0.
            await TryWriteReportAsync(reportPath, RunReport.From(result, input, target, spec?.Name ?? defaultTable),
                string.Create(CultureInfo.InvariantCulture, $"the load itself succeeded: {result.RowsLoaded:N0} rows are committed, do not load them again"));
        }

        return (result, spec?.Name ?? defaultTable);
    }

    public static string Summary(LoadResult r)
    {
        var seconds = r.Elapsed.TotalSeconds;
        var mbps = seconds > 0 ? r.BytesRead / 1e6 / seconds : 0;
        var filtered = (r.RowsFiltered > 0 ? $", {r.RowsFiltered:N0} filtered" : "") + (r.RowsRejected > 0 ? $", {r.RowsRejected:N0} rejected to {r.RejectsPath}" : "");
        return string.Create(CultureInfo.InvariantCulture,
            $"loaded {r.RowsLoaded:N0} rows ({r.RowsRead:N0} read{filtered}) from {r.Files} file{(r.Files == 1 ? "" : "s")} in {seconds:F2} s: {r.BytesRead / 1e6:N0} MB at {mbps:N0} MB/s, peak memory {r.PeakWorkingSetBytes / 1e6:N0} MB");
    }

    /// <summary>
    /// Fails the run as bad usage, before anything is read or loaded, when the report could not be written there
    /// (a folder that cannot be made, a path that is a folder, no permission, a read-only file system).
    /// </summary>
    private static void CheckReportPath(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                throw new IOException("it is a folder");
            }

            var folder = Path.GetDirectoryName(full);
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            var existed = File.Exists(full);
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
            {
                // opened for writing without truncating: an earlier report stays until this run's replaces it
            }

            if (!existed)
            {
                File.Delete(full);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException([$"--report {path}: the report cannot be written there ({e.Message}); nothing was loaded"]);
        }
    }

    /// <summary>Writes the report; a failure to write it is a warning on stderr saying what became of the load.</summary>
    private static async Task TryWriteReportAsync(string path, RunReport report, string loadOutcome)
    {
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(path, Redacted(report).ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync(Tenancy.Secrets.Redact($"warning: --report {path}: the report was not written ({e.Message}); {loadOutcome}"));
        }
    }

    /// <summary>
    /// The report with every text that can carry a credential scrubbed: the target as typed (a refused
    /// <c>user:password@</c> target), the input, and an error whose text may echo a server's reply.
    /// </summary>
    internal static RunReport Redacted(RunReport report) => report with
    {
        Input = Tenancy.Secrets.Redact(report.Input),
        Target = Tenancy.Secrets.Redact(SinkTarget.Redacted(report.Target)),
        Error = report.Error is null ? null : Tenancy.Secrets.Redact(report.Error),
    };

    private static DateOnly ParseDate(string? text) =>
        text is null ? DateOnly.FromDateTime(DateTime.Today)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new ConfigException([$"--load-date: '{text}' is not a date in the form yyyy-MM-dd"]);
}
