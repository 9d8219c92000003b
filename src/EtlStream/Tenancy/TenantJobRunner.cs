using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.State;
using Microsoft.Extensions.Logging;

namespace EtlStream.Tenancy;

/// <summary>What one table load of a job did; <see cref="AlreadyLoaded"/> files were skipped because the ledger has them.</summary>
public sealed record TableLoadResult(string Step, string Table, string Mode, IReadOnlyList<string> Files, LoadResult Result)
{
    public int AlreadyLoaded { get; init; }
}

/// <summary>
/// The load ledger a run books its commits in, and the run's id there. <see cref="Reload"/> (<c>run|backfill
/// --reload</c>): the run date's files load again even though the ledger has them; see
/// <see cref="TenantJobRunner.ReloadProblems"/> for where that is safe.
/// </summary>
public sealed record LedgerRun(LoadLedger Ledger, string RunId)
{
    public bool Reload { get; init; }
}

/// <summary>
/// Runs a <see cref="JobPlan"/>: each table load through the streaming pipeline into the tenant's own database,
/// in step order, stopping at the first failure. Every table load is its own transaction, so a failed load
/// (a full refresh included) leaves that table as it was. With a <see cref="LedgerRun"/>, files the ledger has
/// are not loaded again (append and merge; a refresh always reloads), so a rerun after a crash or of an earlier
/// day loads exactly what is missing.
/// </summary>
public static partial class TenantJobRunner
{
    /// <param name="options">Load options; <see cref="LoadOptions.RejectsPath"/> is the folder rejects go under (default <c>rejects</c>).</param>
    /// <param name="observe">Wraps each table load, e.g. in a progress display: gets the load, its pipeline and the run to await.</param>
    public static async Task<IReadOnlyList<TableLoadResult>> RunAsync(
        JobPlan plan,
        LoadOptions options,
        ILogger logger,
        CancellationToken cancellationToken,
        Func<TableLoad, LoadPipeline, Func<Task<LoadResult>>, Task<LoadResult>>? observe = null,
        LedgerRun? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (ledger?.Reload == true && ReloadProblems(plan.Tenant, plan.Loads.Select(l => (l.Step, l.Table, l.Mode))) is { Count: > 0 } problems)
        {
            throw new Tables.ConfigException(problems);
        }

        var results = new List<TableLoadResult>();
        foreach (var load in plan.Loads)
        {
            results.Add(await LoadTableAsync(plan.Tenant, plan.Job.Name, plan.Date, load, options, logger, ledger, observe, lateFrom: true, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>
    /// Loads one table's files, minus those the ledger has committed. <paramref name="lateFrom"/>: a daily run looks
    /// back <see cref="TenantTable.LateDays"/> days before the table's watermark for files that arrived late (none
    /// before the run date on a table's first run); a backfill takes every file it is given.
    /// </summary>
    public static async Task<TableLoadResult> LoadTableAsync(
        TenantConfig tenant, string jobName, DateOnly runDate, TableLoad load, LoadOptions options, ILogger logger, LedgerRun? ledger,
        Func<TableLoad, LoadPipeline, Func<Task<LoadResult>>, Task<LoadResult>>? observe, bool lateFrom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(options);
        var mode = load.Mode.ToString().ToLowerInvariant();
        var target = TargetOf(tenant, load.Table);
        IReadOnlyList<SourceFile> files = load.Files;
        IReadOnlyList<SourceFile> replaced = [];
        IReadOnlyList<SourceFile> reloaded = [];
        var alreadyLoaded = 0;
        if (ledger is not null && load.Mode != StepMode.Replace)
        {
            // A Stream Load target has no ledger table of its own to heal from: there, a run that died before booking
            // re-sends under the same labels and the server refuses the second commit (within its label window).
            var committed = tenant.Sink.HealsFromTarget
                ? await HealAsync(tenant, load.Table, target, ledger, logger, cancellationToken).ConfigureAwait(false)
                : await ledger.Ledger.CommittedAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
            if (lateFrom)
            {
                var watermark = await ledger.Ledger.WatermarkAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
                var earliest = watermark?.AddDays(-load.Table.LateDays) ?? runDate;
                files = [.. files.Where(f => FileDates.Parse(load.Table.FilePattern, f.Name) is not { } d || d >= earliest)];
                foreach (var late in files.Where(f => !committed.ContainsKey(f.Name) && FileDates.Parse(load.Table.FilePattern, f.Name) < watermark))
                {
                    LogLateFile(logger, tenant.Id, load.Table.Name, late.Name, watermark!.Value);
                }
            }

            if (ledger.Reload)
            {
                (committed, reloaded) = FileSelection.Forgetting(committed, files, f => FileDates.Parse(load.Table.FilePattern, f.Name) == runDate);
                if (reloaded.Count > 0)
                {
                    LogReloading(logger, tenant.Id, load.Table.Name, Files(reloaded.Count), runDate);
                }
            }

            var selection = FileSelection.Select(files, committed, load.Table.OnChanged);
            foreach (var changed in selection.ChangedSkipped)
            {
                LogChangedSkipped(logger, tenant.Id, load.Table.Name, changed.Name);
            }

            foreach (var changed in selection.Replaced)
            {
                LogChangedReplaced(logger, tenant.Id, load.Table.Name, changed.Name);
            }

            (files, replaced, alreadyLoaded) = (selection.ToLoad, selection.Replaced, selection.AlreadyLoaded.Count);
        }

        if (files.Count == 0)
        {
            LogNothingNew(logger, tenant.Id, jobName, load.Table.Name, Files(alreadyLoaded));
            return new TableLoadResult(load.Step, load.Table.Name, mode, [], new LoadResult()) { AlreadyLoaded = alreadyLoaded };
        }

        if (replaced.Count > 0 && !tenant.Sink.Provider.Capabilities.ReplacePartition)
        {
            throw new NotSupportedException($"{tenant.Id}: {load.Table.Name}: on_changed: replace_partition is not supported on {tenant.Sink.Kind} yet");
        }

        var stamp = ledger is null ? null : new LedgerStamp(tenant.Id, target, ledger.RunId);
        // An append reloading files deletes their earlier rows in its transaction (ReloadProblems made sure it can).
        var deleteFirst = load.Mode == StepMode.Append ? [.. replaced, .. reloaded] : replaced;
        var sink = CreateSink(new TenantSinkContext(tenant, load.Table, load.Mode)
        {
            Ledger = stamp,
            ReplaceSources = [.. deleteFirst.Select(f => f.FileName).Distinct(StringComparer.Ordinal)],
            Logger = logger,
        });

        // A column watermark filters what earlier runs loaded (a refresh reloads all and resets it).
        var spec = load.Table.Spec;
        Sinks.ColumnWatermark? columnWatermark = null;
        if (ledger is not null && load.Table.WatermarkColumn is { } watermarkColumn)
        {
            columnWatermark = new Sinks.ColumnWatermark(spec.Columns.First(c => c.Name.Equals(watermarkColumn, StringComparison.Ordinal)));
            if (load.Mode != StepMode.Replace)
            {
                var above = await ledger.Ledger.ColumnWatermarkAsync(tenant.Id, target, watermarkColumn, cancellationToken).ConfigureAwait(false);
                spec = columnWatermark.FilterAbove(spec, above);
                if (above is not null)
                {
                    LogColumnWatermark(logger, tenant.Id, load.Table.Name, watermarkColumn, above);
                }
            }

            sink = columnWatermark.Track(sink);
        }

        LoadResult result;
        await using (sink.ConfigureAwait(false))
        {
            // Each table load's rejects in their own file: rejects/<tenant>/<date>-<job>-<table>.parquet.
            var rejects = Path.Combine(options.RejectsPath ?? "rejects", tenant.Id, $"{runDate:yyyy-MM-dd}-{jobName}-{load.Table.Name}.parquet");
            var pipeline = new LoadPipeline(options with { TenantId = tenant.Id, LoadDate = runDate, RejectsPath = rejects }, logger);
            var toLoad = load with { Files = files };
            Task<LoadResult> Run() => pipeline.RunAsync(files, spec, sink, cancellationToken);
            result = (await (observe is null ? Run() : observe(toLoad, pipeline, Run)).ConfigureAwait(false)).WithListing(files);
        }

        if (ledger is not null)
        {
            // After the sink's commit. A crash before this line is healed from the target's ledger table next run.
            var now = DateTimeOffset.UtcNow;
            var versions = files.ToDictionary(f => f.Name, f => f.Version, StringComparer.Ordinal);
            await ledger.Ledger.RecordAsync(
                [.. result.FileResults.Select(f => new LedgerEntry(tenant.Id, target, f.Name, versions[f.Name], f.RowsRead,
                    FileDates.Parse(load.Table.FilePattern, f.Name), ledger.RunId, now))],
                cancellationToken).ConfigureAwait(false);
            if (columnWatermark?.Highest is { } highest)
            {
                await ledger.Ledger.SetColumnWatermarkAsync(tenant.Id, target, load.Table.WatermarkColumn!, highest, ledger.RunId, cancellationToken).ConfigureAwait(false);
            }
        }

        LogTableLoaded(logger, tenant.Id, jobName, load.Table.Name, mode, result.RowsLoaded, Files(result.Files));
        return new TableLoadResult(load.Step, load.Table.Name, mode, [.. files.Select(f => f.Name)], result) { AlreadyLoaded = alreadyLoaded };
    }

    /// <summary>
    /// Why <c>--reload</c> would be unsafe for these table loads, one line each (empty: safe). A refresh reloads
    /// anyway and a merge replaces rows by key; an append would load its files' rows a second time, except into a
    /// Parquet lake (a file's output is rewritten under the same name) or a DuckDB table with a <c>source_file</c>
    /// column (the reloaded files' rows are deleted in the same transaction). Stream Load targets are refused
    /// whatever the mode: their labels make a second load of a file a no-op, so nothing would be reloaded.
    /// </summary>
    public static IReadOnlyList<string> ReloadProblems(TenantConfig tenant, IEnumerable<(string Step, TenantTable Table, StepMode Mode)> loads)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(loads);
        var problems = new List<string>();
        foreach (var (step, table, mode) in loads)
        {
            if (mode == StepMode.Replace)
            {
                continue;
            }

            if (tenant.Sink.Provider.ReloadProblem(tenant, step, table, mode) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return problems;
    }

    /// <summary>The ledger's name for a tenant's table: sink kind, database and table.</summary>
    public static string TargetOf(TenantConfig tenant, TenantTable table) => $"{tenant.Sink.Kind}:{tenant.Database}/{table.Name}";

    /// <summary>The tenant's sink for one table load.</summary>
    public static IBatchSink CreateSink(TenantConfig tenant, TenantTable table, StepMode mode, ILogger? logger = null, LedgerStamp? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return CreateSink(new TenantSinkContext(tenant, table, mode) { Ledger = ledger, Logger = logger });
    }

    /// <summary>The tenant's sink for one table load, by its provider; a mode the sink does not load is refused here.</summary>
    public static IBatchSink CreateSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var provider = context.Tenant.Sink.Provider;
        var modes = provider.Capabilities.Modes;
        return modes.Contains(context.Mode)
            ? provider.CreateTenantSink(context)
            : throw new NotSupportedException(
                $"{context.Tenant.Id}: {context.Table.Name}: mode {Lower(context.Mode)} is not supported on {provider.Kind} ({string.Join(" and ", modes.Select(Lower))} {(modes.Count == 1 ? "is" : "are")})");
    }

    private static string Lower(StepMode mode) => mode.ToString().ToLowerInvariant();

    /// <summary>
    /// The ledger's committed files for a target, after adding those the target's own ledger table has and the
    /// ledger lacks: files committed by a run that died before it could book them.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, LedgerEntry>> HealAsync(TenantConfig tenant, TenantTable table, string target, LedgerRun ledger, ILogger logger, CancellationToken cancellationToken)
    {
        var committed = await ledger.Ledger.CommittedAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
        var own = await tenant.Sink.Provider.ReadLedgerAsync(tenant, table, target, cancellationToken).ConfigureAwait(false);

        // A load `etlstream ledger forget` un-booked stays forgotten: its rows were deleted by hand, or are to be.
        var forgotten = await ledger.Ledger.ForgottenAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
        var missing = own
            .Where(t => !forgotten.Contains((t.SourceName, t.RunId)))
            .Where(t => !committed.TryGetValue(t.SourceName, out var e) || e.SourceVersion != t.SourceVersion)
            .GroupBy(t => t.SourceName).Select(g => g.Last())
            .Select(t => new LedgerEntry(tenant.Id, target, t.SourceName, t.SourceVersion, t.Rows, FileDates.Parse(table.FilePattern, t.SourceName), t.RunId, DateTimeOffset.UtcNow))
            .ToList();
        if (missing.Count > 0)
        {
            LogHealed(logger, tenant.Id, target, missing.Count == 1 ? "1 file was" : $"{Files(missing.Count)} were");
            await ledger.Ledger.RecordAsync(missing, cancellationToken).ConfigureAwait(false);
            committed = await ledger.Ledger.CommittedAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
        }

        // The other direction: files booked here that the target no longer lists were lost with its database or
        // table (dropped, re-created, restored from an older backup). The sink writes its ledger rows with the
        // files' rows, so their absence means the rows are gone too: forget them, and they load again.
        var held = own.Select(t => (t.SourceName, t.SourceVersion)).ToHashSet();
        var lost = committed.Values.Where(e => !held.Contains((e.SourceName, e.SourceVersion))).ToList();
        if (lost.Count == 0)
        {
            return committed;
        }

        LogLost(logger, tenant.Id, target, Files(lost.Count));
        await ledger.Ledger.ForgetAsync(lost, cancellationToken).ConfigureAwait(false);
        return await ledger.Ledger.CommittedAsync(tenant.Id, target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>"1 file", "2 files": log messages read as sentences.</summary>
    private static string Files(long count) => count == 1 ? "1 file" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{count:N0} files");

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Target}: {Count} booked in the load ledger are not in the target's own _etlstream_ledger (its database or table was dropped or re-created?): they load again")]
    private static partial void LogLost(ILogger logger, string tenant, string target, string count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Table}: --reload: loading {Count} of {Date:yyyy-MM-dd} again")]
    private static partial void LogReloading(ILogger logger, string tenant, string table, string count, DateOnly date);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Tenant}/{Job}: {Table} ({Mode}): {Rows} rows from {Files}")]
    private static partial void LogTableLoaded(ILogger logger, string tenant, string job, string table, string mode, long rows, string files);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Tenant}/{Job}: {Table}: nothing new ({AlreadyLoaded} already loaded)")]
    private static partial void LogNothingNew(ILogger logger, string tenant, string job, string table, string alreadyLoaded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Table}: late file {File} (the table's watermark is {Watermark:yyyy-MM-dd}): loading it")]
    private static partial void LogLateFile(ILogger logger, string tenant, string table, string file, DateOnly watermark);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Table}: {File} was re-uploaded with new content; on_changed: skip keeps the version already loaded")]
    private static partial void LogChangedSkipped(ILogger logger, string tenant, string table, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Table}: {File} was re-uploaded with new content; on_changed: replace_partition replaces its rows")]
    private static partial void LogChangedReplaced(ILogger logger, string tenant, string table, string file);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Tenant}: {Table}: loading rows whose {Column} is above {Watermark}")]
    private static partial void LogColumnWatermark(ILogger logger, string tenant, string table, string column, string watermark);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant}: {Target}: {Count} committed by a run that stopped before booking them; booked now from the table's own ledger")]
    private static partial void LogHealed(ILogger logger, string tenant, string target, string count);
}
