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
        var to = new Option<string>("--to") { Description = "Where to load: parquet:<file>, duckdb:<file>[?table=<name>][&mode=replace].", Required = true };
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
            Console.WriteLine(json ? RunReport.From(result.Result, inputText, target, result.Table).ToJson() : Summary(result.Result));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary><c>--output text|json</c>: the summary line, or the run report on stdout for machines.</summary>
    public static Option<string> OutputOption() =>
        new Option<string>("--output") { Description = "text (one summary line) or json (the run report).", DefaultValueFactory = _ => "text" }.AcceptOnlyFromAmong("text", "json");

    public static Option<bool> NoProgressOption() => new("--no-progress") { Description = "No live progress display (it is also off when stderr is redirected and with NO_COLOR)." };

    /// <summary>The load itself, shared with <c>demo</c>: lists inputs, validates everything before touching the sink, runs, reports.</summary>
    public static async Task<(LoadResult Result, string Table)> LoadAsync(string input, string? tablePath, string target, LoadOptions options, string? reportPath, CancellationToken token, ProgressDisplay? progress = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var spec = tablePath is null ? null : TableSpecReader.ReadFile(tablePath);
        var pipeline = new LoadPipeline(options, logger);
        var files = await SourceStores.ListInputAsync(input, Environment.GetEnvironmentVariable, token);
        var counted = progress?.Count(files) ?? files;
        var defaultTable = spec?.Name ?? Path.GetFileName(files[0].Name).Split('.')[0];
        try
        {
            var sink = SinkTarget.Create(target, defaultTable);
            await using (sink)
            {
                var result = (progress is null
                    ? await pipeline.RunAsync(files, spec, sink, token)
                    : await progress.RunAsync("loading", pipeline, files, () => pipeline.RunAsync(counted, spec, sink, token))).WithListing(files);
                if (reportPath is not null)
                {
                    await WriteReportAsync(reportPath, RunReport.From(result, input, target, spec?.Name ?? defaultTable));
                }

                return (result, spec?.Name ?? defaultTable);
            }
        }
        catch (Exception e) when (reportPath is not null && e is not OperationCanceledException)
        {
            var soFar = pipeline.Progress;
            await WriteReportAsync(reportPath, new RunReport
            {
                Status = "failed",
                Error = Tenancy.Secrets.Redact(e.Message),
                Input = input,
                Target = target,
                Table = spec?.Name ?? defaultTable,
                Files = files.Count,
                RowsRead = soFar.RowsRead,
                BytesRead = soFar.BytesRead,
            });
            throw;
        }
    }

    public static string Summary(LoadResult r)
    {
        var seconds = r.Elapsed.TotalSeconds;
        var mbps = seconds > 0 ? r.BytesRead / 1e6 / seconds : 0;
        var filtered = (r.RowsFiltered > 0 ? $", {r.RowsFiltered:N0} filtered" : "") + (r.RowsRejected > 0 ? $", {r.RowsRejected:N0} rejected to {r.RejectsPath}" : "");
        return string.Create(CultureInfo.InvariantCulture,
            $"loaded {r.RowsLoaded:N0} rows ({r.RowsRead:N0} read{filtered}) from {r.Files} file{(r.Files == 1 ? "" : "s")} in {seconds:F2} s: {r.BytesRead / 1e6:N0} MB at {mbps:N0} MB/s, peak memory {r.PeakWorkingSetBytes / 1e6:N0} MB");
    }

    private static async Task WriteReportAsync(string path, RunReport report)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        await File.WriteAllTextAsync(path, report.ToJson());
    }

    private static DateOnly ParseDate(string? text) =>
        text is null ? DateOnly.FromDateTime(DateTime.Today)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new ConfigException([$"--load-date: '{text}' is not a date in the form yyyy-MM-dd"]);
}
