using EtlStream.Components;

namespace EtlStream.Sinks;

/// <summary>
/// The one list of sinks: a provider per line, found by tenant kind (or alias) or by <c>--to</c> scheme. Adding a
/// sink is its folder and a line here. The order is the order help and errors list them in.
/// </summary>
public static class SinkRegistry
{
    private static readonly ProviderList<SinkProvider> List = new(
    [
        new DuckDb.DuckDbSinkProvider(),
        new StarRocks.StarRocksSinkProvider(StarRocks.SqlDialect.StarRocks),
        new StarRocks.StarRocksSinkProvider(StarRocks.SqlDialect.Doris),
        new Postgres.PostgresSinkProvider(),
        new MySql.MySqlSinkProvider(),
        new ClickHouse.ClickHouseSinkProvider(),
        new Parquet.ParquetSinkProvider(),
        new Csv.CsvSinkProvider(),
    ]);

    public static IReadOnlyList<SinkProvider> Providers => List.Providers;

    /// <summary>Every name a tenant's <c>sink.kind</c> may take, aliases after their kind.</summary>
    public static IReadOnlyList<string> TenantKinds =>
        [.. List.Providers.Where(p => p.Capabilities.Tenants).SelectMany(p => (IEnumerable<string>)[p.Kind, .. p.Aliases])];

    /// <summary>The provider a tenant's <c>sink.kind</c> (or one of its aliases) names; null when none does.</summary>
    public static SinkProvider? ForKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return List.Find(p => p.Capabilities.Tenants && (p.Kind.Equals(kind, StringComparison.Ordinal) || p.Aliases.Contains(kind, StringComparer.Ordinal)));
    }

    /// <summary>The provider of a tenant's sink, whose kind the config reader checked.</summary>
    public static SinkProvider Get(string kind) =>
        ForKind(kind) ?? throw new ArgumentException($"sink kind '{kind}' is not supported ({string.Join(", ", TenantKinds)})", nameof(kind));

    /// <summary>The provider of a <c>--to</c> scheme (any case); null when none parses it.</summary>
    public static SinkProvider? ForScheme(string scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        return List.Find(p => p.Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Every provider's <c>--to</c> form, in registry order.</summary>
    public static IReadOnlyList<string> TargetForms => [.. List.Providers.Where(p => p.Schemes.Count > 0).Select(p => p.TargetForm)];

    /// <summary>
    /// Adds a provider until the returned handle is disposed (tests add a sink known to nothing else). A kind or
    /// scheme another provider has is refused.
    /// </summary>
    internal static IDisposable Register(SinkProvider provider) => List.Add(provider, (p, added) =>
        p.Kind == added.Kind || p.Schemes.Intersect(added.Schemes, StringComparer.OrdinalIgnoreCase).Any()
            ? $"a sink of kind '{p.Kind}' already has that kind or a scheme of '{added.Kind}'"
            : null);
}
