using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Security;

namespace EtlStream.Sinks.StarRocks;

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
    private InClusterPlan(InClusterBackfill backfill, StarRocksSinkOptions target, IReadOnlyList<InClusterFile> files, IReadOnlyList<string> notes, int headerLayouts)
    {
        Backfill = backfill;
        Target = target;
        Files = files;
        Notes = notes;
        HeaderLayouts = headerLayouts;
    }

    public InClusterBackfill Backfill { get; }

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
    public static async Task<InClusterPlan> BuildAsync(InClusterBackfill backfill, IReadOnlyDictionary<string, LedgerEntry> committed, InClusterLoadOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backfill);
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(options);
        var spec = backfill.Spec;
        var where = $"{backfill.TenantId}/{backfill.TableName} --in-cluster";
        var problems = new List<string>(options.Validate());
        if (backfill.SinkKind != "starrocks" || backfill.Target is not { } target)
        {
            var why = backfill.SinkKind == "doris"
                ? "doris tenants are not supported yet (Doris reads object storage through Broker Load or the S3 table function, which this does not generate)"
                : $"the tenant's sink is {backfill.SinkKind}; only starrocks clusters read object storage themselves";
            throw new ConfigException([$"{where}: {why}"]);
        }

        if (target.MySqlPort is null)
        {
            problems.Add("sink.path: mysql_port=none: statements go through the FE's MySQL port");
        }

        var storage = InClusterStorage.From(backfill.SourceKind, backfill.SourceSettings, problems);
        foreach (var c in storage?.Credentials ?? [])
        {
            if (c.Secret)
            {
                Redaction.Protect(c.Value);
            }
        }

        var check = InClusterSql.Check(spec);
        problems.AddRange(check.Problems);
        var selection = FileSelection.Select([.. backfill.Days.SelectMany(d => d.Files)], committed, backfill.OnChanged);
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
        var shape = StreamLoadLabel.ShapeHash(new Transforms.TableTransform(spec, backfill.From, backfill.TenantId).OutputSchema);
        var headers = new ConcurrentDictionary<SourceFile, (IReadOnlyList<string> Fields, bool CrLf)>();
        var unreadable = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(selection.ToLoad, new ParallelOptions { MaxDegreeOfParallelism = options.ParallelFiles, CancellationToken = cancellationToken }, async (file, token) =>
        {
            try
            {
                headers[file] = await InClusterHeader.ReadAsync(file, spec.Csv.Delimiter, spec.Csv.Quote, options.MaxHeaderBytes, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or SourceException or IOException)
            {
                unreadable.Add($"{where}: {file.Name}: {Redaction.Redact(e.Message)}");
            }
        }).ConfigureAwait(false);

        var files = new List<InClusterFile>();
        foreach (var (date, dayFiles) in backfill.Days)
        {
            foreach (var file in dayFiles)
            {
                var label = StreamLoadLabel.For(backfill.TenantId, target.Database, backfill.TableName, file, null, shape);
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
                    var statement = InClusterSql.Insert(spec, target.Database, backfill.TableName, label, header.Fields, storage!.PathOf(file), storage.Credentials,
                        new InClusterStamps(file.FileName, date, backfill.TenantId), header.CrLf);
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

        var layouts = headers.Values.Select(h => string.Join('\u0001', h.Fields)).Distinct(StringComparer.Ordinal).Count();
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
            $"in-cluster backfill: tenant {Backfill.TenantId}, table {Backfill.TableName}, {Backfill.From:yyyy-MM-dd} to {Backfill.To:yyyy-MM-dd}, shard {Backfill.Shard}: {pending} statements, {Files.Count - pending} files already loaded, {HeaderLayouts} header layouts");
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
        return Redaction.Redact(sb.ToString());
    }
}
