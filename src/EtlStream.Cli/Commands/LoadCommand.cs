using System.CommandLine;
using System.Globalization;
using EtlStream.Formats.Csv;
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
        var delimiter = new Option<string?>("--delimiter") { Description = "The field delimiter: one ASCII character, or '\\t' (tab). Overrides the spec's csv.delimiter; default ','." };
        var quote = new Option<string?>("--quote") { Description = "The quote character. Overrides the spec's csv.quote; default '\"'." };
        var noHeader = new Option<bool>("--no-header") { Description = "The first line is data: columns are column1, column2, … (csv.header: false)." };
        var encoding = new Option<string?>("--encoding") { Description = $"The text encoding when the file has no byte-order mark: {CsvEncodingNames.Accepted}. Default utf-8." };

        var command = new Command("load", "Load files into a sink through the streaming pipeline.") { input, table, to, report, parallelFiles, loadDate, output, noProgress, metrics, rejects, rejectsTable, delimiter, quote, noHeader, encoding };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            using var telemetry = Telemetry.Start(parse.GetValue(metrics));
            var options = new LoadOptions
            {
                ParallelFiles = parse.GetValue(parallelFiles),
                LoadDate = ParseDate(parse.GetValue(loadDate)),
                RejectsPath = parse.GetValue(rejects),
                RejectsTable = parse.GetValue(rejectsTable),
            };
            var json = parse.GetValue(output) == "json";
            var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
            var inputText = parse.GetValue(input)!;
            var target = parse.GetRequiredValue(to);
            using var loggers = CliLogging.Create(parse);
            var dialect = CsvDialect.Parse(parse.GetValue(delimiter), parse.GetValue(quote), parse.GetValue(noHeader), parse.GetValue(encoding));
            var result = await LoadAsync(inputText, parse.GetValue(table), target, options, parse.GetValue(report), token, progress, loggers.CreateLogger("etlstream"), dialect);
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
    public static async Task<(LoadResult Result, string Table)> LoadAsync(string input, string? tablePath, string target, LoadOptions options, string? reportPath, CancellationToken token, ProgressDisplay? progress = null, Microsoft.Extensions.Logging.ILogger? logger = null, CsvDialect? dialect = null)
    {
        var spec = tablePath is null ? null : TableSpecReader.ReadFile(tablePath);
        var pipeline = new LoadPipeline(options, logger);
        var files = await SourceStores.ListInputAsync(input, Environment.GetEnvironmentVariable, token);
        var counted = progress?.Count(files) ?? files;
        var defaultTable = spec?.Name ?? Path.GetFileName(files[0].Name).Split('.')[0];
        if (dialect is not null)
        {
            spec ??= new TableSpec { Name = defaultTable, Columns = [], InferColumns = true };
            spec = spec with { Csv = dialect.ApplyTo(spec.Csv) };
        }

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
        var rate = seconds > 0 ? r.BytesRead / seconds : 0;
        var filtered = (r.RowsFiltered > 0 ? $", {r.RowsFiltered:N0} filtered" : "") + (r.RowsRejected > 0 ? $", {r.RowsRejected:N0} rejected to {r.RejectsPath}" : "");
        return string.Create(CultureInfo.InvariantCulture,
            $"loaded {Count(r.RowsLoaded, "row")} ({r.RowsRead:N0} read{filtered}) from {Count(r.Files, "file")} in {seconds:F2} s: {Size(r.BytesRead)} at {Size(rate)}/s, peak memory {r.PeakWorkingSetBytes / 1e6:N0} MB");
    }

    /// <summary><c>1 file</c>, <c>2 files</c>, <c>1,000 rows</c>.</summary>
    public static string Count(long n, string noun) => string.Create(CultureInfo.InvariantCulture, $"{n:N0} {noun}{(n == 1 ? "" : "s")}");

    /// <summary>
    /// Bytes in the unit that shows them (decimal, as MB elsewhere in the output), three significant figures: a small
    /// load is <c>26 bytes</c> or <c>4.10 kB</c>, never <c>0 MB</c>.
    /// </summary>
    public static string Size(double bytes)
    {
        if (bytes < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} bytes");
        }

        string[] units = ["kB", "MB", "GB", "TB"];
        var unit = 0;
        var value = bytes / 1000;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        var format = value < 10 ? "F2" : value < 100 ? "F1" : "N0";
        return $"{value.ToString(format, CultureInfo.InvariantCulture)} {units[unit]}";
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

/// <summary>
/// <c>load</c>'s CSV flags (<c>--delimiter</c>, <c>--quote</c>, <c>--no-header</c>, <c>--encoding</c>): each one given
/// overrides the spec's <c>csv:</c> setting, so a TSV or a headerless file loads without writing a spec.
/// </summary>
internal sealed record CsvDialect(byte? Delimiter, byte? Quote, bool NoHeader, CsvEncoding? Encoding)
{
    /// <summary>The flags as typed, or null when none was given; every bad flag is reported together (exit 2).</summary>
    public static CsvDialect? Parse(string? delimiter, string? quote, bool noHeader, string? encoding)
    {
        if (delimiter is null && quote is null && !noHeader && encoding is null)
        {
            return null;
        }

        var errors = new List<string>();
        byte? Character(string? text, string flag)
        {
            if (text is null)
            {
                return null;
            }

            var b = CsvOptions.ParseCharacter(text, out var error);
            if (b is (byte)'\r' or (byte)'\n')
            {
                error = "must not be a line break";
                b = null;
            }

            if (error is not null)
            {
                errors.Add($"{flag}: {error}");
            }

            return b;
        }

        var d = Character(delimiter, "--delimiter");
        var q = Character(quote, "--quote");
        CsvEncoding? e = null;
        if (encoding is not null && (e = CsvEncodingNames.Parse(encoding)) is null)
        {
            errors.Add($"--encoding: unknown encoding '{PrintableText.Escape(encoding)}' (expected {CsvEncodingNames.Accepted})");
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return new CsvDialect(d, q, noHeader, e);
    }

    /// <summary>The spec's options with these flags over them; a delimiter equal to the quote is refused naming both.</summary>
    public CsvOptions ApplyTo(CsvOptions csv)
    {
        var applied = csv with
        {
            Delimiter = Delimiter ?? csv.Delimiter,
            Quote = Quote ?? csv.Quote,
            HasHeader = !NoHeader && csv.HasHeader,
            Encoding = Encoding ?? csv.Encoding,
        };
        if (applied.Delimiter == applied.Quote)
        {
            throw new ConfigException([$"--delimiter/--quote: the delimiter and the quote are both '{PrintableText.Escape(((char)applied.Delimiter).ToString())}' (set one of them to something else; the default quote is '\"')"]);
        }

        return applied;
    }
}
