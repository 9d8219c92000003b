using EtlStream.Tenancy;
using Microsoft.Extensions.Logging;

namespace EtlStream.Sources.Local;

/// <summary>
/// <c>kind: local</c> tenants (<c>source.path</c> is a folder on this machine) and every <c>load</c> input that is no
/// store's URL: a file, a folder, a glob or <c>-</c>.
/// </summary>
internal sealed class LocalFolderStoreProvider : SourceStoreProvider
{
    public override string Kind => "local";

    public override string ConfigForm => "{ kind: local, path: <folder> }";

    public override bool OnThisMachine => true;

    /// <summary>Relative folders start at the folder holding configs/, wherever etlstream was started.</summary>
    public override string ResolvePath(string path, string home)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.Length > 0 ? Path.GetFullPath(path, home) : path;
    }

    public override IReadOnlyList<(string Path, string Message)> Validate(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Path.Length == 0 ? [("source.path", "required")] : [];
    }

    public override ISourceStore Create(SourceConfig source, RangedReadOptions? reads = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new LocalFolderStore(source.Path);
    }

    public override string Location(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Path.GetFullPath(source.Path);
    }

    public override string Describe(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Path;
    }

    public override string PatternRoot(SourceConfig source) => Describe(source) + "/";

    public override Task<IReadOnlyList<SourceFile>> ListInputAsync(string input, Func<string, string?> environment, CancellationToken cancellationToken, ILogger? logger = null) =>
        Task.FromResult(LocalFileSource.List(input, logger));
}
