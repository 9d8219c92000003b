using System.Globalization;
using Microsoft.Data.Sqlite;

namespace EtlStream.State;

/// <summary>
/// The durable record of what was committed where (SQLite, <c>state/ledger.db</c> by default): runs, source objects
/// per target, and per-target watermarks. It is written after a sink commits; a crash between the two is healed by
/// the target's own ledger table, which the sink writes in the same transaction as the rows (see
/// <see cref="Sinks.DuckDb.DuckDbSink.ReadLedger"/>), so the next run neither loses nor doubles a file.
/// </summary>
public sealed class LoadLedger : IAsyncDisposable
{
    private readonly SqliteConnection _connection;

    private LoadLedger(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens (creating it and its folder when missing) the ledger at <paramref name="path"/>.</summary>
    public static async Task<LoadLedger> OpenAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var ledger = new LoadLedger(connection, full);
        try
        {
            // WAL: a killed writer never corrupts it, and `etlstream runs` can read while a run writes.
            await ledger.ExecuteAsync("""
                PRAGMA journal_mode = WAL;
                PRAGMA busy_timeout = 10000;
                CREATE TABLE IF NOT EXISTS runs (
                    run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, job TEXT NOT NULL, run_date TEXT NOT NULL,
                    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
                    rows_loaded INTEGER NOT NULL DEFAULT 0, files_loaded INTEGER NOT NULL DEFAULT 0, error TEXT);
                CREATE TABLE IF NOT EXISTS committed_files (
                    tenant TEXT NOT NULL, target TEXT NOT NULL, source_name TEXT NOT NULL, source_version TEXT NOT NULL,
                    rows INTEGER NOT NULL, file_date TEXT, run_id TEXT NOT NULL, committed_at TEXT NOT NULL,
                    PRIMARY KEY (tenant, target, source_name));
                CREATE TABLE IF NOT EXISTS watermarks (
                    tenant TEXT NOT NULL, target TEXT NOT NULL, file_date TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant, target));
                CREATE TABLE IF NOT EXISTS column_watermarks (
                    tenant TEXT NOT NULL, target TEXT NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL,
                    run_id TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant, target, column_name));
                CREATE TABLE IF NOT EXISTS forgotten_files (
                    tenant TEXT NOT NULL, target TEXT NOT NULL, source_name TEXT NOT NULL, run_id TEXT NOT NULL, forgotten_at TEXT NOT NULL,
                    PRIMARY KEY (tenant, target, source_name, run_id));
                """, cancellationToken, []).ConfigureAwait(false);
            return ledger;
        }
        catch
        {
            await ledger.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Records a run as started and returns its id: UTC start time plus randomness, so ids sort by time.</summary>
    public async Task<string> StartRunAsync(string tenant, string job, DateOnly runDate, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var runId = string.Create(CultureInfo.InvariantCulture, $"{now:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}");
        await ExecuteAsync(
            "INSERT INTO runs (run_id, tenant, job, run_date, started_at, status) VALUES ($id, $tenant, $job, $date, $at, 'running')",
            cancellationToken, [("$id", runId), ("$tenant", tenant), ("$job", job), ("$date", Day(runDate)), ("$at", Time(now))]).ConfigureAwait(false);
        return runId;
    }

    public Task FinishRunAsync(string runId, RunStatus status, long rowsLoaded, int filesLoaded, string? error, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE runs SET finished_at = $at, status = $status, rows_loaded = $rows, files_loaded = $files, error = $error WHERE run_id = $id",
            cancellationToken,
            [("$id", runId), ("$at", Time(DateTimeOffset.UtcNow)), ("$status", status.ToString().ToLowerInvariant()), ("$rows", rowsLoaded), ("$files", filesLoaded), ("$error", error)]);

    /// <summary>Past runs, newest first.</summary>
    public async Task<IReadOnlyList<RunRecord>> RunsAsync(string? tenant, int limit, CancellationToken cancellationToken)
    {
        var sql = "SELECT run_id, tenant, job, run_date, started_at, finished_at, status, rows_loaded, files_loaded, error FROM runs"
            + (tenant is null ? "" : " WHERE tenant = $tenant") + " ORDER BY started_at DESC, run_id DESC LIMIT $limit";
        return await QueryAsync(sql, ReadRun, cancellationToken, [("$tenant", tenant), ("$limit", limit)]).ConfigureAwait(false);
    }

    public async Task<RunRecord?> RunAsync(string runId, CancellationToken cancellationToken) =>
        (await QueryAsync(
            "SELECT run_id, tenant, job, run_date, started_at, finished_at, status, rows_loaded, files_loaded, error FROM runs WHERE run_id = $id",
            ReadRun, cancellationToken, [("$id", runId)]).ConfigureAwait(false)).SingleOrDefault();

    /// <summary>What is committed into <paramref name="target"/>, by source name.</summary>
    public async Task<IReadOnlyDictionary<string, LedgerEntry>> CommittedAsync(string tenant, string target, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(
            $"SELECT {EntryColumns} FROM committed_files WHERE tenant = $tenant AND target = $target",
            ReadEntry, cancellationToken, [("$tenant", tenant), ("$target", target)]).ConfigureAwait(false);
        return rows.ToDictionary(e => e.SourceName, StringComparer.Ordinal);
    }

    /// <summary>Records committed source objects (a newer version of an object replaces its entry) and moves the target's watermark to the latest file date.</summary>
    public async Task RecordAsync(IReadOnlyCollection<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await using var transaction = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var e in entries)
        {
            await ExecuteAsync(
                """
                INSERT INTO committed_files (tenant, target, source_name, source_version, rows, file_date, run_id, committed_at)
                VALUES ($tenant, $target, $name, $version, $rows, $date, $run, $at)
                ON CONFLICT (tenant, target, source_name) DO UPDATE SET source_version = excluded.source_version,
                    rows = excluded.rows, file_date = excluded.file_date, run_id = excluded.run_id, committed_at = excluded.committed_at
                """,
                cancellationToken,
                [("$tenant", e.Tenant), ("$target", e.Target), ("$name", e.SourceName), ("$version", e.SourceVersion), ("$rows", e.Rows),
                 ("$date", e.FileDate is { } d ? Day(d) : null), ("$run", e.RunId), ("$at", Time(e.CommittedAt))],
                transaction).ConfigureAwait(false);
        }

        foreach (var target in entries.Where(e => e.FileDate is not null).GroupBy(e => (e.Tenant, e.Target)))
        {
            await ExecuteAsync(
                """
                INSERT INTO watermarks (tenant, target, file_date, updated_at) VALUES ($tenant, $target, $date, $at)
                ON CONFLICT (tenant, target) DO UPDATE SET file_date = max(file_date, excluded.file_date), updated_at = excluded.updated_at
                """,
                cancellationToken,
                [("$tenant", target.Key.Tenant), ("$target", target.Key.Target), ("$date", Day(target.Max(e => e.FileDate!.Value))), ("$at", Time(DateTimeOffset.UtcNow))],
                transaction).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The booked files <paramref name="filter"/> matches, by tenant, target, file date and name.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> EntriesAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return await QueryAsync(
            $"SELECT {EntryColumns} FROM committed_files WHERE {FilterSql} ORDER BY tenant, target, file_date, source_name",
            ReadEntry, cancellationToken, FilterParameters(filter)).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the booked files <paramref name="filter"/> matches, so runs and backfills load them again, and returns
    /// them. An empty filter is refused: forgetting everything is deleting the ledger, which says so.
    /// </summary>
    public async Task<IReadOnlyList<LedgerEntry>> ForgetAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.IsEmpty)
        {
            throw new ArgumentException("forgetting needs at least one of tenant, table, date range or file", nameof(filter));
        }

        return await ForgetAsync(await EntriesAsync(filter, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes <paramref name="entries"/> (by tenant, target and name) in one transaction. Each target's file-date
    /// watermark becomes its latest remaining file's date; a target left with no file loses its column watermarks
    /// too, as its table starts again from nothing. A column watermark of a target that keeps files stays: rows at or
    /// below it are filtered when the forgotten files load again (the safe side for sources that re-export).
    /// </summary>
    public async Task<IReadOnlyList<LedgerEntry>> ForgetAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return entries;
        }

        await using var transaction = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var e in entries)
        {
            // Remembered with the run that loaded it, so the heal from the target's own ledger does not book that
            // load back; a reload is another run, whose entry the heal takes as usual.
            await ExecuteAsync("""
                DELETE FROM committed_files WHERE tenant = $tenant AND target = $target AND source_name = $name;
                INSERT OR REPLACE INTO forgotten_files (tenant, target, source_name, run_id, forgotten_at) VALUES ($tenant, $target, $name, $run, $at);
                """, cancellationToken,
                [("$tenant", e.Tenant), ("$target", e.Target), ("$name", e.SourceName), ("$run", e.RunId), ("$at", Time(DateTimeOffset.UtcNow))], transaction).ConfigureAwait(false);
        }

        foreach (var (tenant, target) in entries.Select(e => (e.Tenant, e.Target)).Distinct())
        {
            (string, object?)[] key = [("$tenant", tenant), ("$target", target), ("$at", Time(DateTimeOffset.UtcNow))];
            await ExecuteAsync("""
                DELETE FROM watermarks WHERE tenant = $tenant AND target = $target;
                INSERT INTO watermarks (tenant, target, file_date, updated_at)
                    SELECT tenant, target, max(file_date), $at FROM committed_files
                    WHERE tenant = $tenant AND target = $target AND file_date IS NOT NULL GROUP BY tenant, target;
                DELETE FROM column_watermarks WHERE tenant = $tenant AND target = $target
                    AND NOT EXISTS (SELECT 1 FROM committed_files WHERE tenant = $tenant AND target = $target);
                """, cancellationToken, key, transaction).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return entries;
    }

    /// <summary>The (source name, run id) loads of <paramref name="target"/> that were forgotten: not to be booked back from the target.</summary>
    public async Task<IReadOnlySet<(string SourceName, string RunId)>> ForgottenAsync(string tenant, string target, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT source_name, run_id FROM forgotten_files WHERE tenant = $tenant AND target = $target",
            r => (r.GetString(0), r.GetString(1)), cancellationToken, [("$tenant", tenant), ("$target", target)]).ConfigureAwait(false)).ToHashSet();

    /// <summary>The latest file date committed into <paramref name="target"/>; null before its first load.</summary>
    public async Task<DateOnly?> WatermarkAsync(string tenant, string target, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync("SELECT file_date FROM watermarks WHERE tenant = $tenant AND target = $target",
            r => DateOnly.ParseExact(r.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture), cancellationToken,
            [("$tenant", tenant), ("$target", target)]).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The largest value of <paramref name="column"/> loaded into <paramref name="target"/>, as the column's text; null before any.</summary>
    public async Task<string?> ColumnWatermarkAsync(string tenant, string target, string column, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync("SELECT value FROM column_watermarks WHERE tenant = $tenant AND target = $target AND column_name = $column",
            r => r.GetString(0), cancellationToken, [("$tenant", tenant), ("$target", target), ("$column", column)]).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Moves the column's watermark to <paramref name="value"/> (the caller passes only values above the old one).</summary>
    public Task SetColumnWatermarkAsync(string tenant, string target, string column, string value, string runId, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO column_watermarks (tenant, target, column_name, value, run_id, updated_at) VALUES ($tenant, $target, $column, $value, $run, $at)
            ON CONFLICT (tenant, target, column_name) DO UPDATE SET value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at
            """, cancellationToken,
            [("$tenant", tenant), ("$target", target), ("$column", column), ("$value", value), ("$run", runId), ("$at", Time(DateTimeOffset.UtcNow))]);

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private static RunRecord ReadRun(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), DateOnly.ParseExact(r.GetString(3), "yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture), r.IsDBNull(5) ? null : DateTimeOffset.Parse(r.GetString(5), CultureInfo.InvariantCulture),
        Enum.Parse<RunStatus>(r.GetString(6), ignoreCase: true), r.GetInt64(7), r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9));

    private const string EntryColumns = "tenant, target, source_name, source_version, rows, file_date, run_id, committed_at";

    // A target is "<kind>:<database>/<table>" and a name may be a path or URL: table and file match the last segment,
    // compared whole (not LIKE, where the '_' of every file name is a wildcard).
    private const string FilterSql = """
        ($tenant IS NULL OR tenant = $tenant)
        AND ($table IS NULL OR substr(target, -(length($table) + 1)) = '/' || $table)
        AND ($from IS NULL OR file_date >= $from) AND ($to IS NULL OR file_date <= $to)
        AND ($file IS NULL OR source_name = $file OR substr(source_name, -(length($file) + 1)) = '/' || $file)
        """;

    private static (string Name, object? Value)[] FilterParameters(LedgerFilter f) =>
        [("$tenant", f.Tenant), ("$table", f.Table), ("$from", f.From is { } from ? Day(from) : null), ("$to", f.To is { } to ? Day(to) : null), ("$file", f.File)];

    private static LedgerEntry ReadEntry(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4),
        r.IsDBNull(5) ? null : DateOnly.ParseExact(r.GetString(5), "yyyy-MM-dd", CultureInfo.InvariantCulture),
        r.GetString(6), DateTimeOffset.Parse(r.GetString(7), CultureInfo.InvariantCulture));

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, (string Name, object? Value)[] parameters, SqliteTransaction? transaction = null)
    {
        await using var command = Command(sql, parameters, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<T>> QueryAsync<T>(string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken, (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters, null);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private SqliteCommand Command(string sql, (string Name, object? Value)[] parameters, SqliteTransaction? transaction)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
