using System.Collections.Immutable;

namespace EtlStream.Sinks;

/// <summary>
/// The one list of sinks: a provider per line, found by tenant kind (or alias) or by <c>--to</c> scheme. Adding a
/// sink is its folder and a line here. The order is the order help and errors list them in.
/// </summary>
public static class SinkRegistry
{
    private static ImmutableArray<SinkProvider> _providers =
    [
        new DuckDb.DuckDbSinkProvider(),
        new StarRocks.StarRocksSinkProvider(StarRocks.SqlDialect.StarRocks),
        new StarRocks.StarRocksSinkProvider(StarRocks.SqlDialect.Doris),
        new Postgres.PostgresSinkProvider(),
        new MySql.MySqlSinkProvider(),
        new ClickHouse.ClickHouseSinkProvider(),
        new Parquet.ParquetSinkProvider(),
        new Csv.CsvSinkProvider(),
    ];

    public static IReadOnlyList<SinkProvider> Providers => _providers;

    /// <summary>Every name a tenant's <c>sink.kind</c> may take, aliases after their kind.</summary>
    public static IReadOnlyList<string> TenantKinds =>
        [.. _providers.Where(p => p.Capabilities.Tenants).SelectMany(p => (IEnumerable<string>)[p.Kind, .. p.Aliases])];

    /// <summary>The provider a tenant's <c>sink.kind</c> (or one of its aliases) names; null when none does.</summary>
    public static SinkProvider? ForKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        foreach (var p in _providers)
        {
            if (p.Capabilities.Tenants && (p.Kind.Equals(kind, StringComparison.Ordinal) || p.Aliases.Contains(kind, StringComparer.Ordinal)))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The provider of a tenant's sink, whose kind the config reader checked.</summary>
    public static SinkProvider Get(string kind) =>
        ForKind(kind) ?? throw new ArgumentException($"sink kind '{kind}' is not supported ({string.Join(", ", TenantKinds)})", nameof(kind));

    /// <summary>The provider of a <c>--to</c> scheme (any case); null when none parses it.</summary>
    public static SinkProvider? ForScheme(string scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        foreach (var p in _providers)
        {
            if (p.Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Every provider's <c>--to</c> form, in registry order.</summary>
    public static IReadOnlyList<string> TargetForms => [.. _providers.Where(p => p.Schemes.Count > 0).Select(p => p.TargetForm)];

    /// <summary>
    /// Adds a provider until the returned handle is disposed (tests add a sink known to nothing else). A kind or
    /// scheme another provider has is refused.
    /// </summary>
    internal static IDisposable Register(SinkProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ImmutableInterlocked.Update(ref _providers, list =>
        {
            foreach (var p in list)
            {
                if (p.Kind == provider.Kind || p.Schemes.Intersect(provider.Schemes, StringComparer.OrdinalIgnoreCase).Any())
                {
                    throw new ArgumentException($"a sink of kind '{p.Kind}' already has that kind or a scheme of '{provider.Kind}'", nameof(provider));
                }
            }

            return list.Add(provider);
        });
        return new Registration(provider);
    }

    private sealed class Registration(SinkProvider provider) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref _providers, list => list.Remove(provider));
    }
}
