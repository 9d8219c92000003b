using EtlStream.Formats;
using System.CommandLine;
using System.Globalization;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Security;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Cli.Commands;

/// <summary><c>etlstream load &lt;input&gt; --table &lt;spec.yaml&gt; --to &lt;sink&gt; [--report &lt;file.json&gt;]</c> (pinned).</summary>
internal static partial class LoadCommand
{
    /// <summary>The load ledger's tenant for ad-hoc loads: no tenant id is empty, so they never mix with a tenant's files.</summary>
    private const string AdHocTenant = "";

    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A file, a folder or a glob (quote it: 'data/*.csv.gz'), or " + string.Join(", ", SourceStoreRegistry.InputForms) + "." };
        var table = new Option<string?>("--table") { Description = "Table spec YAML. Without it every column is a nullable string named from the header." };
        var to = new Option<string>("--to") { Description = "Where to load, one of: " + SinkTarget.SupportedForms + ".", Required = true };
        var tableName = new Option<string?>("--table-name") { Description = "The table loaded when the target has no table=; default the spec's table:, else the first file's name in lower snake case without a trailing date (zipcodes_2026-12-01.csv.gz: zipcodes)." };
        var report = new Option<string?>("--report") { Description = "Write a JSON run report to this file (a failed run's too, with its error)." };
        var parallelFiles = new Option<int>("--parallel-files") { Description = "Files read at the same time.", DefaultValueFactory = _ => new LoadOptions().ParallelFiles };
        var loadDate = new Option<string?>("--load-date") { Description = "The date load_date columns get (yyyy-MM-dd); default today." };
        var output = OutputOption();
        var noProgress = NoProgressOption();
        var metrics = Telemetry.MetricsOption();
        var rejects = new Option<string?>("--rejects") { Description = "Parquet file for rejected rows; default rejects/<table>-<yyyyMMddTHHmmss>.parquet (written only when rows are rejected)." };
        var rejectsTable = new Option<string?>("--rejects-table") { Description = "Also append rejected rows to a table, e.g. duckdb:<file>?table=etl_rejects." };
        var once = new Option<bool>("--once") { Description = "Skip files the target already has (same name and version, as the load ledger records every load into an appending target); without it such a file is appended again, with a warning." };
        var state = StateCommands.StateOption();
        var memoryBudget = TenantCommands.MemoryBudgetOption();
        var delimiter = new Option<string?>("--delimiter") { Description = "The field delimiter: one ASCII character, or '\\t' (tab). Overrides the spec's csv.delimiter; default ','." };
        var quote = new Option<string?>("--quote") { Description = "The quote character. Overrides the spec's csv.quote; default '\"'." };
        var noHeader = new Option<bool>("--no-header") { Description = "The first line is data: columns are column1, column2, … (csv.header: false)." };
        var format = new Option<string?>("--format") { Description = $"The input format: {InputFormats.Kinds}. Overrides the spec's format:; default: recognised from each file's first bytes (CSV when nothing else matches)." };
        var encoding = new Option<string?>("--encoding") { Description = $"The text encoding when the file has no byte-order mark: {CsvEncodingNames.Accepted}. Default utf-8." };

        var command = new Command("load", "Load files into a sink through the streaming pipeline.")
        {
            input, table, to, tableName, report, parallelFiles, loadDate, output, noProgress, metrics, rejects, rejectsTable, once, state, memoryBudget, format, delimiter, quote, noHeader, encoding,
        };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var json = parse.GetValue(output) == "json";
            var inputText = parse.GetValue(input)!;
            var target = parse.GetRequiredValue(to);
            RunReport? failed = null;
            try
            {
                using var telemetry = Telemetry.Start(parse.GetValue(metrics));
                var options = new LoadOptions
                {
                    ParallelFiles = parse.GetValue(parallelFiles),
                    LoadDate = ParseDate(parse.GetValue(loadDate)),
                    RejectsPath = parse.GetValue(rejects),
                    RejectsTable = parse.GetValue(rejectsTable),
                    TableName = parse.GetValue(tableName),
                    MemoryBudget = parse.GetValue(memoryBudget),
                };
                var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
                using var loggers = CliLogging.Create(parse);
                var dialect = CsvDialect.Parse(parse.GetValue(delimiter), parse.GetValue(quote), parse.GetValue(noHeader), parse.GetValue(encoding));
                var load = await LoadAsync(inputText, parse.GetValue(table), target, options, parse.GetValue(report), token, progress, loggers.CreateLogger("etlstream"),
                    new AdHocLedger(parse.GetValue(state) ?? ConfigRoot.Nearest()?.Ledger ?? Path.Combine("state", "ledger.db"), parse.GetValue(once)), r => failed = r, dialect, parse.GetValue(format));
                Console.WriteLine(json ? Redacted(RunReport.From(load.Result, inputText, target, load.Table)).ToJson() : Summary(load.Result, load.Table, load.Skipped));
                return ExitCodes.Success;
            }
            catch (Exception e) when (json)
            {
                // Machines read stdout: a failed, refused or cancelled load is one JSON object there too, with its error.
                Console.WriteLine(Redacted(failed ?? FailedReport(e, token, inputText, target, null)).ToJson());
                throw;
            }
        }, ct));
        return command;
    }

    /// <summary><c>--output text|json</c>: the summary line, or the run report on stdout for machines.</summary>
    public static Option<string> OutputOption() =>
        new Option<string>("--output") { Description = "text (one summary line) or json (the run report, a failed run's too).", DefaultValueFactory = _ => "text" }.AcceptOnlyFromAmong("text", "json");

    public static Option<bool> NoProgressOption() => new("--no-progress") { Description = "No live progress display (it is also off when stderr is redirected and with NO_COLOR)." };

    /// <summary>Where an ad-hoc load books the files it appended (the load ledger), and whether to skip those already there.</summary>
    public sealed record AdHocLedger(string Path, bool Once);

    /// <summary>
    /// The load itself, shared with <c>demo</c>: checks the report can be written, lists inputs, validates everything
    /// before touching the sink, runs, reports. A run that fails or is cancelled still gets its report (with the
    /// error, the rows read and the rejects so far), written to <paramref name="reportPath"/> and handed to
    /// <paramref name="failed"/>; a DuckDB file it created is removed, as it holds nothing.
    /// </summary>
    public static async Task<(LoadResult Result, string Table, int Skipped)> LoadAsync(
        string input, string? tablePath, string target, LoadOptions options, string? reportPath, CancellationToken token,
        ProgressDisplay? progress = null, ILogger? logger = null, AdHocLedger? ledgerOptions = null, Action<RunReport>? failed = null, CsvDialect? dialect = null, string? format = null)
    {
        logger ??= NullLogger.Instance;
        var reportWritable = false;
        LoadPipeline? pipeline = null;
        IReadOnlyList<SourceFile>? files = null;
        string? table = null;
        string? createdDatabase = null;
        LoadLedger? ledger = null;
        try
        {
            if (reportPath is not null)
            {
                CheckReportPath(reportPath);
                reportWritable = true;
            }

            var spec = tablePath is null ? null : TableSpecReader.ReadFile(tablePath, "--table");
            if (spec is not null && options.TableName is not null)
            {
                spec = spec with { Name = options.TableName };
            }

            files = await SourceStoreRegistry.ListInputAsync(input, Environment.GetEnvironmentVariable, token, logger);
            var defaultTable = spec?.Name ?? options.TableName ?? TableNames.FromFileName(files[0].Name);
            if (dialect is not null)
            {
                // --delimiter, --quote, --no-header, --encoding over the spec's csv: settings (or over none: all columns inferred).
                spec ??= new TableSpec { Name = defaultTable, Columns = [], InferColumns = true };
                spec = spec with { Csv = dialect.ApplyTo(spec.Csv) };
            }

            if (format is not null)
            {
                spec ??= new TableSpec { Name = defaultTable, Columns = [], InferColumns = true };
                spec = spec with { Format = InputFormats.Find(format)?.Kind ?? throw new ConfigException([$"--format: unknown format '{format}' (expected {InputFormats.Kinds})"]) };
            }

            var destination = SinkTarget.Describe(target, defaultTable);
            table = destination.Table;
            options = options with
            {
                TableName = defaultTable,
                RejectsPath = options.RejectsPath ?? DefaultRejectsPath(table),
            };

            var skipped = 0;
            IReadOnlyDictionary<string, LedgerEntry> booked = new Dictionary<string, LedgerEntry>();
            if (ledgerOptions is not null)
            {
                (ledger, booked) = await OpenLedgerAsync(ledgerOptions, destination, target, logger, token);
                if (ledgerOptions.Once)
                {
                    var fresh = files.Where(f => !IsBooked(booked, f)).ToList();
                    skipped = files.Count - fresh.Count;
                    files = fresh;
                }
            }

            if (files.Count == 0)
            {
                // --once and every file already loaded: nothing to do, and nothing is opened (a new DuckDB file is not made).
                var nothing = new LoadResult();
                await WriteSucceededReportAsync(reportPath, nothing, input, target, table);
                return (nothing, table, skipped);
            }

            if (destination.DuckDbFile is { } file && !File.Exists(file))
            {
                createdDatabase = file;
            }

            pipeline = new LoadPipeline(options, logger);
            LoadResult result;
            var sink = SinkTarget.Create(target, defaultTable);
            await using (sink)
            {
                result = (progress is null
                    ? await pipeline.RunAsync(files, spec, sink, token)
                    : await progress.RunAsync("loading", pipeline, files, () => pipeline.RunAsync(files, spec, sink, token))).WithListing(files);
            }

            createdDatabase = null;
            if (ledger is not null && destination.AppendsTo is { } appendsTo)
            {
                await BookAsync(ledger, appendsTo, files, booked, result, logger);
            }

            await WriteSucceededReportAsync(reportPath, result, input, target, table);
            return (result, table, skipped);
        }
        catch (Exception e)
        {
            if (createdDatabase is not null)
            {
                RemoveCreatedDatabase(createdDatabase);
            }

            var report = FailedReport(e, token, input, target, table) with
            {
                Files = files?.Count ?? 0,
            };
            if (pipeline is not null)
            {
                var soFar = pipeline.Progress;
                var rejected = pipeline.Rejects;
                report = report with
                {
                    RowsRead = soFar.RowsRead,
                    BytesRead = soFar.BytesRead,
                    RowsRejected = rejected.RowsRejected,
                    RejectsByRule = rejected.ByRule.Count > 0 ? rejected.ByRule : null,
                    RejectsPath = rejected.RejectsPath,
                };
            }

            if (reportWritable)
            {
                await TryWriteReportAsync(reportPath!, report, "the load failed (see the error below) and nothing was committed");
            }

            failed?.Invoke(report);
            throw;
        }
        finally
        {
            if (ledger is not null)
            {
                await ledger.DisposeAsync();
            }
        }
    }

    /// <summary>The report of a load that did not complete: <c>failed</c> with the error as printed, or <c>cancelled</c>.</summary>
    internal static RunReport FailedReport(Exception e, CancellationToken token, string input, string target, string? table)
    {
        var cancelled = e is OperationCanceledException && token.IsCancellationRequested;
        return new RunReport
        {
            Status = cancelled ? "cancelled" : "failed",
            Error = cancelled ? "cancelled: nothing was committed" : e is ConfigException c ? string.Join("\n", c.Errors) : e.Message,
            Input = input,
            Target = target,
            Table = table,
        };
    }

    private static async Task WriteSucceededReportAsync(string? reportPath, LoadResult result, string input, string target, string table)
    {
        if (reportPath is not null)
        {
            // The rows are committed: a report that cannot be written must not turn the run into a failure (a retry
            // would load them twice), so it is a warning and the exit code stays 0.
            await TryWriteReportAsync(reportPath, RunReport.From(result, input, target, table),
                string.Create(CultureInfo.InvariantCulture, $"the load itself succeeded: {result.RowsLoaded:N0} rows are committed, do not load them again"));
        }
    }

    /// <summary><c>rejects/&lt;table&gt;-&lt;local time&gt;.parquet</c>, beside the working folder: rejects always land in a file the summary names.</summary>
    private static string DefaultRejectsPath(string table)
    {
        var safe = string.Concat(table.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' ? c : '_'));
        var path = Path.Combine("rejects", $"{safe}-{DateTime.Now.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}.parquet");
        for (var n = 2; File.Exists(path); n++)
        {
            // Two loads in one second: the second must not overwrite the first's rejects.
            path = Path.Combine("rejects", $"{safe}-{DateTime.Now.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}-{n}.parquet");
        }

        return path;
    }

    /// <summary>
    /// The ledger and what it has for the target. It is needed only for appending targets; one that cannot be opened
    /// fails <c>--once</c> (which cannot work without it) and is otherwise a warning, as it only feeds warnings.
    /// </summary>
    private static async Task<(LoadLedger? Ledger, IReadOnlyDictionary<string, LedgerEntry> Booked)> OpenLedgerAsync(
        AdHocLedger options, TargetDescription destination, string target, ILogger logger, CancellationToken token)
    {
        var none = new Dictionary<string, LedgerEntry>();
        if (destination.AppendsTo is null)
        {
            // Asked of the target's provider, not of its kind: a sink whose labels refuse a second commit, or one replaced whole.
            var colon = target.IndexOf(':', StringComparison.Ordinal);
            var why = colon > 0 && SinkRegistry.ForScheme(target[..colon]) is { Capabilities.ExactlyOnce: ExactlyOnce.Labels }
                ? "exactly-once through its load labels already"
                : "replaced whole by every load";
            var appending = SinkRegistry.Providers
                .Where(p => p.Schemes.Count > 0 && p.Capabilities.ExactlyOnce is ExactlyOnce.LedgerInTransaction or ExactlyOnce.LedgerAfterRows)
                .Select(p => p.TargetForm[..p.TargetForm.IndexOf('<', StringComparison.Ordinal)]);
            return options.Once
                ? throw new ConfigException([$"--once: {SinkTarget.Redacted(target)} is {why}; --once is for targets a load appends to ({string.Join(", ", appending)} without mode=replace)"])
                : (null, none);
        }

        LoadLedger? ledger = null;
        try
        {
            ledger = await LoadLedger.OpenAsync(options.Path, token);
            return (ledger, await ledger.CommittedAsync(AdHocTenant, destination.AppendsTo, token));
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            if (ledger is not null)
            {
                await ledger.DisposeAsync();
            }

            if (options.Once)
            {
                throw new ConfigException([$"--once: the load ledger {options.Path} cannot be read ({e.Message})"]);
            }

            LedgerUnavailable(logger, options.Path, e.Message);
            return (null, none);
        }
    }

    private static bool IsBooked(IReadOnlyDictionary<string, LedgerEntry> booked, SourceFile file) =>
        booked.TryGetValue(file.Name, out var entry) && entry.SourceVersion == file.Version;

    /// <summary>
    /// Books the files just committed, so a later <c>--once</c> skips them, and warns for each that the target had
    /// already: its rows are in twice now. After the commit, so a failure here is a warning, never a failed load.
    /// </summary>
    private static async Task BookAsync(LoadLedger ledger, string appendsTo, IReadOnlyList<SourceFile> files, IReadOnlyDictionary<string, LedgerEntry> booked, LoadResult result, ILogger logger)
    {
        foreach (var f in files)
        {
            if (IsBooked(booked, f))
            {
                var earlier = booked[f.Name];
                AppendedAgain(logger, f.Name, appendsTo, earlier.CommittedAt.UtcDateTime, earlier.Rows);
            }
        }

        var now = DateTimeOffset.UtcNow;
        var runId = string.Create(CultureInfo.InvariantCulture, $"load-{now:yyyyMMdd'T'HHmmss'Z'}");
        var rows = result.FileResults.Where(r => r is not null).ToDictionary(r => r.Name, r => r.RowsRead, StringComparer.Ordinal);
        try
        {
            await ledger.RecordAsync([.. files.Select(f => new LedgerEntry(AdHocTenant, appendsTo, f.Name, f.Version, rows.GetValueOrDefault(f.Name), null, runId, now))], CancellationToken.None);
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            NotBooked(logger, ledger.Path, e.Message);
        }
    }

    /// <summary>A failed first load leaves no empty database file behind (nor its write-ahead log).</summary>
    private static void RemoveCreatedDatabase(string file)
    {
        foreach (var path in new[] { file, file + ".wal" })
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // best effort: the load's own error is the one to report
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} was already loaded into {Target} ({At:yyyy-MM-dd HH:mm:ss} UTC, {Rows} rows): its rows were appended again (--once skips files already loaded)")]
    private static partial void AppendedAgain(ILogger logger, string file, string target, DateTime at, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the load ledger {Path} cannot be read ({Reason}): a file loaded before would be appended again without a warning")]
    private static partial void LedgerUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the load ledger {Path} was not updated ({Reason}): the load itself succeeded; --once will not know these files")]
    private static partial void NotBooked(ILogger logger, string path, string reason);

    public static string Summary(LoadResult r, string table, int skipped = 0)
    {
        var seconds = r.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? r.BytesRead / seconds : 0;
        var filtered = (r.RowsFiltered > 0 ? $", {r.RowsFiltered:N0} filtered" : "") + (r.RowsRejected > 0 ? $", {r.RowsRejected:N0} rejected to {r.RejectsPath}" : "");
        var alreadyLoaded = skipped > 0 ? $"; {skipped} file{(skipped == 1 ? "" : "s")} already loaded, skipped (--once)" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"loaded {Count(r.RowsLoaded, "row")} into table {table} ({r.RowsRead:N0} read{filtered}) from {Count(r.Files, "file")} in {seconds:F2} s: {Size(r.BytesRead)} at {Size(rate)}/s, peak memory {r.PeakWorkingSetBytes / 1e6:N0} MB{alreadyLoaded}");
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
            await Console.Error.WriteLineAsync(Redaction.Redact($"warning: --report {path}: the report was not written ({e.Message}); {loadOutcome}"));
        }
    }

    /// <summary>
    /// The report with every text that can carry a credential scrubbed: the target as typed (a refused
    /// <c>user:password@</c> target), the input, and an error whose text may echo a server's reply.
    /// </summary>
    internal static RunReport Redacted(RunReport report) => report with
    {
        Input = Redaction.Redact(report.Input),
        Target = Redaction.Redact(SinkTarget.Redacted(report.Target)),
        Error = report.Error is null ? null : Redaction.Redact(report.Error),
    };

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
