using EtlStream.Components;
using EtlStream.Tables;
using Microsoft.Extensions.Logging;

namespace EtlStream.Sources;

/// <summary>
/// The one list of source stores: a provider per line, found by tenant kind or by <c>load</c> URL scheme. Adding a
/// store is its folder and a line here. The order is the order help and errors list them in.
/// </summary>
public static class SourceStoreRegistry
{
    private static readonly ProviderList<SourceStoreProvider> List = new(
    [
        new Local.LocalFolderStoreProvider(),
        new Azure.AzureBlobStoreProvider(),
        new S3.S3ObjectStoreProvider(),
    ]);

    public static IReadOnlyList<SourceStoreProvider> Providers => List.Providers;

    /// <summary>Every name a tenant's <c>source.kind</c> may take.</summary>
    public static IReadOnlyList<string> Kinds => [.. List.Providers.Select(p => p.Kind)];

    /// <summary>Every setting some store accepts (besides <c>kind</c> and <c>path</c>), each once.</summary>
    public static IReadOnlyList<string> Settings => [.. List.Providers.SelectMany(p => p.Settings).Distinct(StringComparer.Ordinal)];

    /// <summary>Every <c>load</c> input URL form, in registry order.</summary>
    public static IReadOnlyList<string> InputForms => [.. List.Providers.Select(p => p.InputForm).OfType<string>()];

    /// <summary>What a tenant's <c>source:</c> may look like, one form per kind: "a, b or c".</summary>
    public static string ConfigForms
    {
        get
        {
            var forms = List.Providers.Select(p => p.ConfigForm).ToList();
            return forms.Count == 1 ? forms[0] : string.Join(", ", forms.Take(forms.Count - 1)) + " or " + forms[^1];
        }
    }

    /// <summary>The message of a <c>source.kind</c> no store has.</summary>
    public static string NotSupported(string kind) => $"'{kind}' is not supported ({string.Join(", ", Kinds)})";

    /// <summary>The provider a tenant's <c>source.kind</c> names; null when none does.</summary>
    public static SourceStoreProvider? ForKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return List.Find(p => p.Kind.Equals(kind, StringComparison.Ordinal));
    }

    /// <summary>The provider of a tenant's source, whose kind the config reader checked.</summary>
    public static SourceStoreProvider Get(string kind) => ForKind(kind) ?? throw new ConfigException([$"source.kind: {NotSupported(kind)}"]);

    /// <summary>The provider whose <c>scheme://</c> (any case) starts <paramref name="input"/>; null for anything else (a local path).</summary>
    public static SourceStoreProvider? ForUrl(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return List.Find(p => p.Scheme is { } scheme && input.Length > scheme.Length + 3
            && input.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && input.AsSpan(scheme.Length).StartsWith("://", StringComparison.Ordinal));
    }

    /// <summary>
    /// The files a <c>load</c> input names, sorted: an object-store URL through its store, anything else a local file,
    /// folder or glob. Fails with <see cref="FileNotFoundException"/> when nothing matches.
    /// </summary>
    public static Task<IReadOnlyList<SourceFile>> ListInputAsync(string input, Func<string, string?> environment, CancellationToken cancellationToken, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var provider = ForUrl(input) ?? List.Providers.First(p => p.OnThisMachine && p.Scheme is null);
        return provider.ListInputAsync(input, environment, cancellationToken, logger);
    }

    /// <summary>
    /// Adds a provider until the returned handle is disposed (tests add a store known to nothing else). A kind or
    /// scheme another provider has is refused.
    /// </summary>
    internal static IDisposable Register(SourceStoreProvider provider) => List.Add(provider, (p, added) =>
        p.Kind == added.Kind || (p.Scheme is not null && string.Equals(p.Scheme, added.Scheme, StringComparison.OrdinalIgnoreCase))
            ? $"a source store of kind '{p.Kind}' already has that kind or the scheme of '{added.Kind}'"
            : null);
}
