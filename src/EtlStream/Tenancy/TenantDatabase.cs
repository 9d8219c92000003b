using EtlStream.Sinks.DuckDb;
using EtlStream.Transforms;

namespace EtlStream.Tenancy;

/// <summary><c>init-db</c>: the tenant's database with every table from its schemas, the access table and the secure views.</summary>
public static class TenantDatabase
{
    /// <summary>Creates what is missing; existing tables are checked against their schemas, never dropped.</summary>
    public static async Task<IReadOnlyList<string>> InitializeAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        foreach (var table in tenant.Tables.Values)
        {
            var schema = new TableTransform(table.Spec, DateOnly.FromDateTime(DateTime.Today), tenant.Id).OutputSchema;
            var sink = new DuckDbSink(TenantJobRunner.SinkOptions(tenant, table, StepMode.Append));
            await using (sink.ConfigureAwait(false))
            {
                await sink.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
                await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            created.Add($"table {table.Name}");
        }

        if (tenant.Rls is { } rls)
        {
            DuckDbSecureViews.CreateAccessTable(tenant.Sink.Path, rls.AccessTable);
            created.Add($"table {rls.AccessTable}");
            foreach (var view in rls.Views)
            {
                DuckDbSecureViews.CreateView(tenant.Sink.Path, rls.AccessTable, rls.UserVariable, view.Table, view.View, view.Column);
                created.Add($"view {view.View} ({view.Table} by {view.Column})");
            }
        }

        return created;
    }
}
