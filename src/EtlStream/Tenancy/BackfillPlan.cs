using System.Globalization;
using System.Text;
using EtlStream.Sources;
using EtlStream.State;

namespace EtlStream.Tenancy;

/// <summary>
/// A historical load of one table: every file whose <c>{date}</c> falls in [<see cref="From"/>, <see cref="To"/>],
/// this <see cref="Shard"/>'s share of them, grouped by date. Each date commits on its own, so a killed backfill
/// keeps what it finished and a rerun (with the load ledger) continues from there.
/// </summary>
public sealed class BackfillPlan
{
    private BackfillPlan(TenantConfig tenant, TenantTable table, DateOnly from, DateOnly to, Shard shard, IReadOnlyList<(DateOnly Date, IReadOnlyList<SourceFile> Files)> days)
    {
        Tenant = tenant;
        Table = table;
        From = from;
        To = to;
        Shard = shard;
        Days = days;
    }

    public TenantConfig Tenant { get; }

    public TenantTable Table { get; }

    public DateOnly From { get; }

    public DateOnly To { get; }

    public Shard Shard { get; }

    /// <summary>The dates with at least one file of this shard, in order, each with its files.</summary>
    public IReadOnlyList<(DateOnly Date, IReadOnlyList<SourceFile> Files)> Days { get; }

    /// <param name="reads">The object stores' ranged-read blocks for the listed files (null: the defaults, for whole-file reads).</param>
    public static async Task<BackfillPlan> BuildAsync(TenantConfig tenant, string tableName, DateOnly from, DateOnly to, Shard shard, CancellationToken cancellationToken, Sources.RangedReadOptions? reads = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(shard);
        if (!tenant.Tables.TryGetValue(tableName, out var table))
        {
            throw new Tables.ConfigException([$"tenant '{tenant.Id}' has no table '{tableName}' (tables: {string.Join(", ", tenant.Tables.Keys)})"]);
        }

        if (to < from)
        {
            throw new Tables.ConfigException([$"--from {from:yyyy-MM-dd} is after --to {to:yyyy-MM-dd}"]);
        }

        var listed = await tenant.Source.CreateStore(reads).ListAsync(table.FilePattern, new DateRange(from, to), cancellationToken).ConfigureAwait(false);
        var days = listed
            .Where(f => shard.Owns(f.Name))
            .GroupBy(f => FileDates.Parse(table.FilePattern, f.Name))
            .Where(g => g.Key is not null)
            .OrderBy(g => g.Key)
            .Select(g => (g.Key!.Value, (IReadOnlyList<SourceFile>)[.. g.OrderBy(f => f.Name, StringComparer.Ordinal)]))
            .ToList();
        return new BackfillPlan(tenant, table, from, to, shard, days);
    }

    /// <summary>The plan as text: range, shard, and per date its files and size; names only, no secret.</summary>
    public string Describe(IReadOnlySet<string>? alreadyLoaded = null)
    {
        var sb = new StringBuilder();
        var files = Days.Sum(d => d.Files.Count);
        var bytes = Days.Sum(d => d.Files.Sum(f => f.Length));
        var done = alreadyLoaded is null ? 0 : Days.Sum(d => d.Files.Count(f => alreadyLoaded.Contains(f.Name)));
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"backfill: tenant {Tenant.Id}, table {Table.Name}, {From:yyyy-MM-dd} to {To:yyyy-MM-dd}, shard {Shard}: {files} files on {Days.Count} dates, {bytes:N0} bytes, {done} already loaded");
        foreach (var (date, dayFiles) in Days)
        {
            var names = dayFiles.Select(f => alreadyLoaded?.Contains(f.Name) == true ? f.FileName + " (loaded)" : f.FileName);
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {date:yyyy-MM-dd}: {string.Join(", ", names)}");
        }

        return sb.ToString();
    }

}
