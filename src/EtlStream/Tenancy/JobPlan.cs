using System.Globalization;
using System.Text;
using EtlStream.Sources;
using EtlStream.Tables;

namespace EtlStream.Tenancy;

/// <summary>One table load of a job run: which files, into which table, how.</summary>
public sealed record TableLoad(string Step, TenantTable Table, StepMode Mode, IReadOnlyList<SourceFile> Files);

/// <summary>
/// What a job will do for a run date: its steps in dependency order, each table with the files its pattern
/// matches. Built before anything loads, so <c>--dry-run</c> and a real run see the same plan.
/// </summary>
public sealed class JobPlan
{
    private JobPlan(TenantConfig tenant, JobConfig job, DateOnly date, IReadOnlyList<TableLoad> loads)
    {
        Tenant = tenant;
        Job = job;
        Date = date;
        Loads = loads;
    }

    public TenantConfig Tenant { get; }

    public JobConfig Job { get; }

    public DateOnly Date { get; }

    public IReadOnlyList<TableLoad> Loads { get; }

    /// <summary>
    /// The plan for a tenant's job on a date, its files listed from the tenant's source store; fails listing every
    /// table that has no file for the date. With <paramref name="lateFiles"/>, a table's files of the
    /// <see cref="TenantTable.LateDays"/> days before are listed too, for a run with a load ledger to pick up files
    /// that arrived late (the ledger drops those already loaded).
    /// </summary>
    public static async Task<JobPlan> BuildAsync(TenantConfig tenant, string jobName, DateOnly date, CancellationToken cancellationToken, bool lateFiles = false)
    {
        if (!tenant.Jobs.TryGetValue(jobName, out var job))
        {
            throw new ConfigException([$"tenant '{tenant.Id}' has no job '{jobName}' (jobs: {string.Join(", ", tenant.Jobs.Keys)})"]);
        }

        var store = tenant.Source.CreateStore();
        var loads = new List<TableLoad>();
        var missing = new List<string>();
        foreach (var step in Order(job.Steps)!)
        {
            foreach (var name in step.Tables)
            {
                var table = tenant.Tables[name];
                var pattern = State.FileDates.For(table.FilePattern, date);
                var files = await store.ListAsync(pattern, DateRange.Day(date), cancellationToken).ConfigureAwait(false);
                if (files.Count == 0)
                {
                    missing.Add($"{tenant.Id}: table '{name}': no file matches '{pattern}' in {store.Location}");
                }

                if (lateFiles && step.Mode != StepMode.Replace)
                {
                    var earlier = table.LateDays == 0 ? [] : await store.ListAsync(
                        table.FilePattern, new DateRange(date.AddDays(-table.LateDays), date.AddDays(-1)), cancellationToken).ConfigureAwait(false);
                    files = [.. earlier, .. files];
                }

                loads.Add(new TableLoad(step.Name, table, step.Mode, files));
            }
        }

        return missing.Count == 0 ? new JobPlan(tenant, job, date, loads) : throw new MissingFilesException(missing);
    }

    /// <summary>Steps in an order that respects every <c>after</c>, declared order otherwise; null when they form a cycle.</summary>
    public static IReadOnlyList<JobStep>? Order(IReadOnlyList<JobStep> steps)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<JobStep>();
        var left = steps.ToList();
        while (left.Count > 0)
        {
            var next = left.FirstOrDefault(s => s.After.All(a => done.Contains(a) || !steps.Any(x => x.Name == a)));
            if (next is null)
            {
                return null;
            }

            ordered.Add(next);
            done.Add(next.Name);
            left.Remove(next);
        }

        return ordered;
    }

    /// <summary>The plan as text: steps, tables, modes and files. Paths and names only: no setting a secret could be in.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"plan: tenant {Tenant.Id} ({Tenant.DisplayName}), job {Job.Name}, date {Date:yyyy-MM-dd}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  from {Tenant.Source.Kind} {Tenant.Source.Provider.Describe(Tenant.Source)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  into {Tenant.Sink.Kind} database {Tenant.Database} ({Tenant.Sink.Path})");
        foreach (var step in Loads.GroupBy(l => l.Step))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  step {step.Key}:");
            foreach (var load in step)
            {
                var mode = load.Mode.ToString().ToLowerInvariant();
                sb.AppendLine(CultureInfo.InvariantCulture, $"    {load.Table.Name} ({mode}, {load.Table.Spec.Columns.Count} columns) <- {string.Join(", ", load.Files.Select(f => Path.GetFileName(f.Name)))}");
            }
        }

        return sb.ToString();
    }
}

/// <summary>A run date's files have not arrived: the run fails (exit 1), so a scheduler retries it later.</summary>
public sealed class MissingFilesException(IReadOnlyList<string> missing) : Exception(string.Join(Environment.NewLine, missing))
{
    public IReadOnlyList<string> Missing { get; } = missing;
}
