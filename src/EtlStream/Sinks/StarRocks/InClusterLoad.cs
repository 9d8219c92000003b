using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>How an in-cluster backfill submits: files at once, and how long a statement and a label's polling may take.</summary>
public sealed record InClusterLoadOptions
{
    /// <summary>Statements in flight at once (and headers read at once): <c>--parallel-files</c>.</summary>
    public int ParallelFiles { get; init; } = 4;

    /// <summary>The longest one INSERT … FROM FILES may run (the client's command timeout).</summary>
    public TimeSpan StatementTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often a label the cluster still runs is asked about, and for how long.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan PollLimit { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Submissions of one file whose outcome stayed unknown (a lost reply) before its load fails.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The most bytes of a decompressed file read to find its header line.</summary>
    public int MaxHeaderBytes { get; init; } = 1024 * 1024;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ParallelFiles is < 1 or > 256)
        {
            errors.Add($"--parallel-files: {ParallelFiles} is not between 1 and 256");
        }

        if (StatementTimeout <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || PollLimit <= TimeSpan.Zero)
        {
            errors.Add("in-cluster timeouts must be positive");
        }

        if (MaxAttempts < 1)
        {
            errors.Add("in-cluster attempts must be at least 1");
        }

        return errors;
    }
}

/// <summary>One file of an in-cluster backfill: its label and statement, or that the ledger has it already.</summary>
public sealed record InClusterFile(SourceFile Source, DateOnly Date, string Label, bool AlreadyLoaded)
{
    /// <summary>Re-uploaded since it was loaded (another ETag): <c>on_changed: skip</c> keeps the loaded version.</summary>
    public bool ChangedSkipped { get; init; }

    internal InClusterStatement? Statement { get; init; }
}

/// <summary>What an in-cluster backfill did: statements that committed, files the cluster already had under their label, rows.</summary>
public sealed record InClusterLoadResult(int Loaded, int Healed, int AlreadyLoaded, long RowsLoaded);

/// <summary>
/// A backfill compiled for the cluster to run: one <c>INSERT … WITH LABEL … SELECT … FROM FILES(…)</c> per file,
/// checked before anything is submitted (every spec feature the cluster cannot do, and every file it could not read,
/// is one <see cref="ConfigException"/> listing them all).
/// </summary>
public sealed class InClusterPlan
{
    private InClusterPlan(BackfillPlan backfill, StarRocksSinkOptions target, IReadOnlyList<InClusterFile> files, IReadOnlyList<string> notes, int headerLayouts)
    {
        Backfill = backfill;
        Target = target;
        Files = files;
        Notes = notes;
        HeaderLayouts = headerLayouts;
    }

    public BackfillPlan Backfill { get; }

    public IReadOnlyList<InClusterFile> Files { get; }

    /// <summary>Where the cluster's own behaviour stands in for the streaming path's.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>How many different headers the files to load have (each file's statement has its own positions).</summary>
    public int HeaderLayouts { get; }

    internal StarRocksSinkOptions Target { get; }

    /// <summary>
    /// Compiles <paramref name="backfill"/> (listed with small read blocks, see <see cref="HeaderReads"/>) for a StarRocks
    /// tenant: files the ledger has (<paramref name="committed"/>) are skipped, the others' headers are read
    /// (<see cref="InClusterLoadOptions.ParallelFiles"/> at once) and each gets its statement.
    /// </summary>
    public static async Task<InClusterPlan> BuildAsync(BackfillPlan backfill, IReadOnlyDictionary<string, LedgerEntry> committed, InClusterLoadOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backfill);
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(options);
        var tenant = backfill.Tenant;
        var table = backfill.Table;
        var spec = table.Spec;
        var where = $"{tenant.Id}/{table.Name} --in-cluster";
        var problems = new List<string>(options.Validate());
        if (tenant.Sink.Kind != "starrocks")
        {
            var why = tenant.Sink.Kind == "doris"
                ? "doris tenants are not supported yet (Doris reads object storage through Broker Load or the S3 table function, which this does not generate)"
                : $"the tenant's sink is {tenant.Sink.Kind}; only starrocks clusters read object storage themselves";
            throw new ConfigException([$"{where}: {why}"]);
        }

        var target = Tenancy.TenantJobRunner.StreamLoadOptions(tenant, table);
        if (target.MySqlPort is null)
        {
            problems.Add("sink.path: mysql_port=none: statements go through the FE's MySQL port");
        }

        var storage = InClusterStorage.From(tenant.Source.Kind, tenant.Source.Settings, problems);
        foreach (var c in storage?.Credentials ?? [])
        {
            if (c.Secret)
            {
                Secrets.Protect(c.Value);
            }
        }

        var check = InClusterSql.Check(spec);
        problems.AddRange(check.Problems);
        var selection = FileSelection.Select([.. backfill.Days.SelectMany(d => d.Files)], committed, table.OnChanged);
        if (selection.Replaced.Count > 0)
        {
            problems.Add("on_changed: replace_partition (a re-uploaded file's old rows cannot be replaced by an INSERT)");
        }

        if (problems.Count > 0)
        {
            throw new ConfigException([.. problems.Select(p => $"{where}: {p}")]);
        }

        var toLoad = selection.ToLoad.ToHashSet();
        var changed = selection.ChangedSkipped.ToHashSet();
        var shape = StreamLoadLabel.ShapeHash(new Transforms.TableTransform(spec, backfill.From, tenant.Id).OutputSchema);
        var headers = new ConcurrentDictionary<SourceFile, IReadOnlyList<string>>();
        var unreadable = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(selection.ToLoad, new ParallelOptions { MaxDegreeOfParallelism = options.ParallelFiles, CancellationToken = cancellationToken }, async (file, token) =>
        {
            try
            {
                headers[file] = await InClusterHeader.ReadAsync(file, spec.Csv.Delimiter, spec.Csv.Quote, options.MaxHeaderBytes, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or SourceException or IOException)
            {
                unreadable.Add($"{where}: {file.Name}: {Secrets.Redact(e.Message)}");
            }
        }).ConfigureAwait(false);

        var files = new List<InClusterFile>();
        foreach (var (date, dayFiles) in backfill.Days)
        {
            foreach (var file in dayFiles)
            {
                var label = StreamLoadLabel.For(tenant.Id, target.Database, table.Name, file, null, shape);
                if (!toLoad.Contains(file))
                {
                    files.Add(new InClusterFile(file, date, label, AlreadyLoaded: true) { ChangedSkipped = changed.Contains(file) });
                    continue;
                }

                if (!headers.TryGetValue(file, out var header))
                {
                    continue;
                }

                try
                {
                    var statement = InClusterSql.Insert(spec, target.Database, table.Name, label, header, storage!.PathOf(file), storage.Credentials,
                        new InClusterStamps(file.FileName, date, tenant.Id));
                    files.Add(new InClusterFile(file, date, label, AlreadyLoaded: false) { Statement = statement });
                }
                catch (InvalidDataException e)
                {
                    unreadable.Add($"{where}: {file.Name}: {e.Message}");
                }
            }
        }

        if (!unreadable.IsEmpty)
        {
            throw new ConfigException([.. unreadable.Order(StringComparer.Ordinal)]);
        }

        var layouts = headers.Values.Select(h => string.Join('\u0001', h)).Distinct(StringComparer.Ordinal).Count();
        return new InClusterPlan(backfill, target, files, check.Notes, layouts);
    }

    /// <summary>Blocks small enough that reading a header costs one small ranged GET (the files themselves are read by the cluster).</summary>
    public static RangedReadOptions HeaderReads { get; } = new() { BlockSize = 64 * 1024, MaxInFlight = 1 };

    /// <summary>The plan as text: every statement with its credentials as <c>***</c>, the notes, and the files already loaded.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        var pending = Files.Count(f => !f.AlreadyLoaded);
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"in-cluster backfill: tenant {Backfill.Tenant.Id}, table {Backfill.Table.Name}, {Backfill.From:yyyy-MM-dd} to {Backfill.To:yyyy-MM-dd}, shard {Backfill.Shard}: {pending} statements, {Files.Count - pending} files already loaded, {HeaderLayouts} header layouts");
        foreach (var note in Notes)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  note: {note}");
        }

        foreach (var f in Files)
        {
            if (f.AlreadyLoaded)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"-- {f.Date:yyyy-MM-dd} {f.Source.Name}: already loaded{(f.ChangedSkipped ? " (re-uploaded since; on_changed: skip keeps the loaded version)" : "")}");
                continue;
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"-- {f.Date:yyyy-MM-dd} {f.Source.Name} ({f.Source.Length:N0} bytes)");
            sb.Append(f.Statement!.Shown).AppendLine(";");
        }

        // The statements' credentials are already ***; this catches anything else a secret could have reached.
        return Secrets.Redact(sb.ToString());
    }
}

/// <summary>
/// Submits an <see cref="InClusterPlan"/> through the FE's MySQL port, <see cref="InClusterLoadOptions.ParallelFiles"/>
/// statements at once, and books each file in the load ledger once the cluster says its label is FINISHED. Labels make
/// it exactly-once: a statement whose reply was lost, or a file committed by a run that died before booking it, is
/// answered "Label … has already been used" on resubmission, and the label's state (<c>information_schema.loads</c>)
/// decides: FINISHED is done, a running load is polled, a cancelled one is submitted again under the same label.
/// </summary>
public static partial class InClusterLoad
{
    public static async Task<InClusterLoadResult> RunAsync(InClusterPlan plan, LedgerRun ledger, InClusterLoadOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.Validate() is { Count: > 0 } invalid)
        {
            throw new ConfigException(invalid);
        }

        var tenant = plan.Backfill.Tenant;
        var target = Tenancy.TenantJobRunner.TargetOf(tenant, plan.Backfill.Table);
        var booking = new SemaphoreSlim(1, 1);
        int loaded = 0, healed = 0;
        long rows = 0;
        var failures = new ConcurrentBag<(string File, string Error)>();
        var pending = plan.Files.Where(f => !f.AlreadyLoaded).ToList();
        try
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = options.ParallelFiles, CancellationToken = cancellationToken }, async (file, token) =>
            {
                InClusterOutcome outcome;
                try
                {
                    outcome = await LoadFileAsync(plan.Target, file, options, logger, token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is MySqlException or InClusterLoadException or TimeoutException)
                {
                    failures.Add((file.Source.Name, Secrets.Redact(e.Message)));
                    return;
                }

                // Booked after the cluster's FINISHED; a crash before this is healed by the label next run.
                await booking.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await ledger.Ledger.RecordAsync(
                        [new LedgerEntry(tenant.Id, target, file.Source.Name, file.Source.Version, outcome.Rows, file.Date, ledger.RunId, DateTimeOffset.UtcNow)],
                        CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    booking.Release();
                }

                Interlocked.Add(ref rows, outcome.Rows);
                Interlocked.Increment(ref outcome.Healed ? ref healed : ref loaded);
                LogFileLoaded(logger, tenant.Id, plan.Backfill.Table.Name, file.Source.Name, outcome.Rows, outcome.Healed ? "already committed under its label" : "loaded");
            }).ConfigureAwait(false);
        }
        finally
        {
            booking.Dispose();
        }

        if (!failures.IsEmpty)
        {
            var list = failures.OrderBy(f => f.File, StringComparer.Ordinal).Select(f => $"{f.File}: {f.Error}").ToList();
            throw new InClusterLoadException(
                $"{tenant.Id}/{plan.Backfill.Table.Name}: {list.Count} of {pending.Count} files failed ({loaded + healed} committed and booked; a rerun submits the rest):\n  " + string.Join("\n  ", list));
        }

        return new InClusterLoadResult(loaded, healed, plan.Files.Count - pending.Count, rows);
    }

    private readonly record struct InClusterOutcome(long Rows, bool Healed);

    private static async Task<InClusterOutcome> LoadFileAsync(StarRocksSinkOptions target, InClusterFile file, InClusterLoadOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await OpenAsync(target, cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    await using var command = new MySqlCommand(file.Statement!.Sql, connection) { CommandTimeout = (int)Math.Ceiling(options.StatementTimeout.TotalSeconds) };
                    var affected = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    return new InClusterOutcome(affected, Healed: false);
                }
            }
            catch (MySqlException e) when (IsLabelUsed(e))
            {
                // An earlier submission (a lost reply, a run that died before booking) has this label.
                var state = await AwaitLabelAsync(target, file, options, cancellationToken).ConfigureAwait(false);
                if (state.State is "FINISHED" or "VISIBLE" or "COMMITTED")
                {
                    return new InClusterOutcome(state.Rows, Healed: true);
                }

                if (attempt >= options.MaxAttempts)
                {
                    throw new InClusterLoadException($"label {file.Label} is {state.State ?? "unknown"} after {attempt} submissions: {Secrets.Redact(e.Message)}", e);
                }
            }
            catch (Exception e) when (IsOutcomeUnknown(e) && !cancellationToken.IsCancellationRequested)
            {
                // The statement may have committed: ask before submitting again (the same label would refuse a second commit anyway).
                LogOutcomeUnknown(logger, file.Source.Name, file.Label, Secrets.Redact(e.Message));
                var state = await AwaitLabelAsync(target, file, options, cancellationToken).ConfigureAwait(false);
                if (state.State is "FINISHED" or "VISIBLE" or "COMMITTED")
                {
                    return new InClusterOutcome(state.Rows, Healed: true);
                }

                if (attempt >= options.MaxAttempts)
                {
                    throw new InClusterLoadException($"no reply after {attempt} submissions (label {file.Label} is {state.State ?? "unknown"}): {Secrets.Redact(e.Message)}", e);
                }
            }
        }
    }

    /// <summary>The label's state once it is no longer running (null: the cluster has no such label).</summary>
    private static async Task<(string? State, long Rows)> AwaitLabelAsync(StarRocksSinkOptions target, InClusterFile file, InClusterLoadOptions options, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.PollLimit;
        while (true)
        {
            var state = await LabelStateAsync(target, file.Label, cancellationToken).ConfigureAwait(false);
            if (state.State is not ("PENDING" or "LOADING" or "QUEUEING" or "PREPARED" or "RUNNING"))
            {
                return state;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"label {file.Label} still {state.State} after {options.PollLimit}");
            }

            await Task.Delay(options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The label's state and rows from <c>information_schema.loads</c> (StarRocks 3.1+, INSERT jobs included); the
    /// newest job when a cancelled one left the label before.
    /// </summary>
    internal static async Task<(string? State, long Rows)> LabelStateAsync(StarRocksSinkOptions target, string label, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(target, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = new MySqlCommand(
                "SELECT STATE, SINK_ROWS FROM information_schema.loads WHERE DATABASE_NAME = @db AND LABEL = @label ORDER BY CREATE_TIME DESC LIMIT 1", connection);
            command.Parameters.AddWithValue("@db", target.Database);
            command.Parameters.AddWithValue("@label", label);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return (null, 0);
            }

            var rows = reader.IsDBNull(1) ? 0 : long.Parse(Convert.ToString(reader.GetValue(1), CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture);
            return (reader.GetString(0).ToUpperInvariant(), rows);
        }
    }

    /// <summary>StarRocks' words for a label in use: "Label [l] has already been used." (any error code).</summary>
    internal static bool IsLabelUsed(MySqlException e) =>
        e.Message.Contains("has already been used", StringComparison.OrdinalIgnoreCase) && e.Message.Contains("Label", StringComparison.OrdinalIgnoreCase);

    /// <summary>A transport failure or a timeout: the statement may or may not have committed.</summary>
    private static bool IsOutcomeUnknown(Exception e) => e switch
    {
        MySqlException m => m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.CommandTimeoutExpired || m.InnerException is IOException or EndOfStreamException or System.Net.Sockets.SocketException,
        IOException or EndOfStreamException or System.Net.Sockets.SocketException => true,
        _ => false,
    };

    private static async Task<MySqlConnection> OpenAsync(StarRocksSinkOptions target, CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = target.Host,
            Port = (uint)target.MySqlPort!.Value,
            UserID = target.User,
            Password = target.Password,
            SslMode = target.UseTls ? MySqlSslMode.Preferred : MySqlSslMode.None,

            // A connection that lost a reply must not return to a pool.
            Pooling = false,
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (MySqlException e)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new InClusterLoadException($"cannot reach {target.Host}:{target.MySqlPort} (MySQL protocol) as {target.User}: {Secrets.Redact(e.Message)}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Tenant}/{Table}: {File}: {Rows} rows ({How})")]
    private static partial void LogFileLoaded(ILogger logger, string tenant, string table, string file, long rows, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: no reply to the INSERT (label {Label}): asking the cluster for the label's state: {Error}")]
    private static partial void LogOutcomeUnknown(ILogger logger, string file, string label, string error);
}

/// <summary>An in-cluster load that failed: a file's statement, or the cluster unreachable. The message never carries a credential.</summary>
public sealed class InClusterLoadException(string message, Exception? inner = null) : Exception(message, inner);
