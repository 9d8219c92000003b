namespace EtlStream.Tenancy;

/// <summary><c>init-db</c>: the tenant's database with every table from its schemas, the access table and the secure views.</summary>
public static class TenantDatabase
{
    /// <summary>Creates what is missing through the tenant's sink provider; existing tables are checked against their schemas, never dropped.</summary>
    public static Task<IReadOnlyList<string>> InitializeAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return tenant.Sink.Provider.InitDatabaseAsync(tenant, cancellationToken);
    }
}
