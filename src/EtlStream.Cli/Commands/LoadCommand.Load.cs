using EtlStream.Formats;
using System.Globalization;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Cli.Commands;

internal static partial class LoadCommand
{
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
}
