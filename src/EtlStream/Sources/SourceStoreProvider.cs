using EtlStream.Tables;
using EtlStream.Tenancy;
using Microsoft.Extensions.Logging;

namespace EtlStream.Sources;

/// <summary>
/// Everything the engine knows about one kind of source store, in the store's own folder: its tenant.yaml
/// <c>source.kind</c> and settings, how they are checked (every error with its path) and build the
/// <see cref="ISourceStore"/>, which settings are secret, the URL scheme a <c>load</c> input names it by, and how
/// plans and <c>explain</c> show it. Found by kind or scheme in <see cref="SourceStoreRegistry"/>, so that nothing
/// outside the store's folder and the registry names it.
/// </summary>
public abstract class SourceStoreProvider
{
    /// <summary>tenant.yaml's <c>source.kind</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The scheme of a <c>load</c> input URL (<c>az</c> for <c>az://…</c>); null for a store named by a plain path.</summary>
    public virtual string? Scheme => null;

    /// <summary>What the URL names right after <c>scheme://</c>: a container, a bucket.</summary>
    public virtual string UrlRoot => "root";

    /// <summary>The <c>load</c> input form, as help and errors show it; null without a <see cref="Scheme"/>.</summary>
    public string? InputForm => Scheme is null ? null : $"{Scheme}://<{UrlRoot}>/<prefix or glob>";

    /// <summary>The smallest <c>source:</c> section of this kind, for the error of a tenant without one (by default its <see cref="UrlRoot"/> and more).</summary>
    public virtual string ConfigForm => $"{{ kind: {Kind}, {UrlRoot}: <name>, ... }}";

    /// <summary>The settings a tenant's <c>source:</c> of this kind accepts besides <c>kind</c> and <c>path</c>.</summary>
    public virtual IReadOnlyList<string> Settings => [];

    /// <summary>The <see cref="Settings"/> that hold credentials: their values are redacted from everything printed.</summary>
    public virtual IReadOnlyList<string> SecretSettings => [];

    /// <summary>The files are on this machine's disk (a generator can write them; a database cluster cannot read them).</summary>
    public virtual bool OnThisMachine => false;

    /// <summary><c>source.path</c> as the store uses it: a folder is made absolute against <paramref name="home"/>.</summary>
    public virtual string ResolvePath(string path, string home) => path;

    /// <summary>Every problem of a tenant's <c>source:</c>, each with its config path; empty when a store can be made from it.</summary>
    public abstract IReadOnlyList<(string Path, string Message)> Validate(SourceConfig source);

    /// <summary>The store a tenant's files are listed from; <paramref name="reads"/> replaces an object store's ranged-read blocks.</summary>
    public abstract ISourceStore Create(SourceConfig source, RangedReadOptions? reads = null);

    /// <summary>
    /// Where a tenant's source lists from, without secrets, to tell tenants' sources apart: a full folder path, or the
    /// URL of the container or bucket (account or endpoint included) and the folder in it.
    /// </summary>
    public abstract string Location(SourceConfig source);

    /// <summary>Where the files come from, as a plan's <c>from</c> line shows it.</summary>
    public virtual string Describe(SourceConfig source) => Location(source);

    /// <summary>What <c>explain</c> shows a table's file pattern after.</summary>
    public virtual string PatternRoot(SourceConfig source) => Location(source);

    /// <summary>Registers the values of <see cref="SecretSettings"/>, so that nothing printed, logged or reported shows them.</summary>
    public void ProtectSecrets(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        foreach (var key in SecretSettings)
        {
            if (Setting(source.Settings, key) is { } secret)
            {
                Security.Redaction.Protect(secret);
            }
        }
    }

    /// <summary>
    /// The files a <c>load</c> input names, sorted; fails with <see cref="FileNotFoundException"/> when nothing
    /// matches. By default an <c>scheme://root/&lt;prefix or glob&gt;</c> URL whose credentials come from
    /// <paramref name="environment"/> (README: object-store inputs).
    /// </summary>
    public virtual async Task<IReadOnlyList<SourceFile>> ListInputAsync(string input, Func<string, string?> environment, CancellationToken cancellationToken, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var rest = input[((Scheme?.Length ?? 0) + "://".Length)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var root = slash < 0 ? rest : rest[..slash];
        if (root.Length == 0)
        {
            throw new ConfigException([$"{input}: no {UrlRoot} (expected {InputForm})"]);
        }

        var store = CreateFromUrl(input, root, environment);
        var files = await store.ListAsync(slash < 0 ? "" : rest[(slash + 1)..], null, cancellationToken).ConfigureAwait(false);
        return files.Count > 0 ? files : throw new FileNotFoundException($"{input}: matches no objects", input);
    }

    /// <summary>The store of a <c>load</c> input URL naming <paramref name="root"/>, its credentials from <paramref name="environment"/>.</summary>
    protected virtual ISourceStore CreateFromUrl(string url, string root, Func<string, string?> environment) =>
        throw new NotSupportedException($"a {Kind} source is not named by a URL");

    public override string ToString() => Kind;

    /// <summary>A setting's value; null when absent or empty.</summary>
    protected static string? Setting(IReadOnlyDictionary<string, string> settings, string key)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
    }

    /// <summary>A folder inside a container or bucket as a prefix: empty, or ending with <c>/</c>.</summary>
    protected static string Folder(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.Length == 0 || path.EndsWith('/') ? path : path + "/";
    }

    protected static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    /// <summary>Options' <c>path: message</c> problems as (path, message) pairs.</summary>
    protected static IReadOnlyList<(string Path, string Message)> Split(IEnumerable<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var split = new List<(string, string)>();
        foreach (var problem in problems)
        {
            var colon = problem.IndexOf(": ", StringComparison.Ordinal);
            split.Add(colon < 0 ? ("source", problem) : (problem[..colon], problem[(colon + 2)..]));
        }

        return split;
    }
}
