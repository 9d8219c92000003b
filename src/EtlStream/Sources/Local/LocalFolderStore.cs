namespace EtlStream.Sources.Local;

/// <summary>
/// A local folder as a source store: object names are paths relative to <see cref="Location"/> with <c>/</c>
/// between folders; a listed file's <see cref="SourceFile.Name"/> is its path. Files starting with <c>.</c> are skipped,
/// and links as <see cref="LocalFileSource"/> says: the listing never leaves the folder.
/// </summary>
internal sealed class LocalFolderStore(string folder, Microsoft.Extensions.Logging.ILogger? logger = null) : ISourceStore
{
    public string Location { get; } = folder;

    public Task<IReadOnlyList<SourceFile>> ListAsync(string pattern, DateRange? dates, CancellationToken cancellationToken)
    {
        var selector = ObjectNamePattern.Parse(pattern.Replace('\\', '/'));
        var root = Path.GetFullPath(Location);

        // Only the folders the literal prefix allows are walked.
        var prefixFolder = selector.Prefix.LastIndexOf('/') is var slash and >= 0 ? selector.Prefix[..slash] : "";
        var start = Path.Combine(root, prefixFolder.Replace('/', Path.DirectorySeparatorChar));
        IReadOnlyList<SourceFile> files = [];
        if (Directory.Exists(start))
        {
            files = [.. LocalFileSource.FilesUnder(start, recursive: true, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, root)
                .Select(p => (Path: p, Relative: Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/')))
                .Where(f => !Path.GetFileName(f.Path).StartsWith('.') && selector.IsMatch(f.Relative, dates))
                .OrderBy(f => f.Relative, StringComparer.Ordinal)
                .Select(f => LocalFileSource.ForPath(Path.Combine(Location, f.Relative.Replace('/', Path.DirectorySeparatorChar))))];
        }

        return Task.FromResult(files);
    }
}
