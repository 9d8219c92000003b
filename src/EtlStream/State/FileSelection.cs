using EtlStream.Sources;

namespace EtlStream.State;

/// <summary>What a table load does with a source object that is already in the ledger under another version (a re-upload).</summary>
public enum ChangedFilePolicy
{
    /// <summary>Leave the loaded version in place and warn (the default: never delete without being asked).</summary>
    Skip,

    /// <summary>Delete the rows the old version loaded (by the table's <c>source_file</c> column) and load the new one, in one transaction.</summary>
    ReplacePartition,
}

/// <summary>A table load's files split by the ledger: new ones to load, re-uploads, and ones already committed.</summary>
internal sealed record FileSelection(
    IReadOnlyList<SourceFile> ToLoad,
    IReadOnlyList<SourceFile> Replaced,
    IReadOnlyList<SourceFile> ChangedSkipped,
    IReadOnlyList<SourceFile> AlreadyLoaded)
{
    /// <summary>
    /// Splits <paramref name="listed"/> against what the ledger says is committed: a file whose name and version
    /// are committed is not loaded again; a committed name with another version is reloaded
    /// (<see cref="Replaced"/>, also in <see cref="ToLoad"/>) or skipped, by <paramref name="policy"/>.
    /// </summary>
    public static FileSelection Select(IReadOnlyList<SourceFile> listed, IReadOnlyDictionary<string, LedgerEntry> committed, ChangedFilePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(listed);
        ArgumentNullException.ThrowIfNull(committed);
        List<SourceFile> load = [], replaced = [], changedSkipped = [], done = [];
        foreach (var file in listed)
        {
            if (!committed.TryGetValue(file.Name, out var entry))
            {
                load.Add(file);
            }
            else if (entry.SourceVersion == file.Version)
            {
                done.Add(file);
            }
            else if (policy == ChangedFilePolicy.ReplacePartition)
            {
                load.Add(file);
                replaced.Add(file);
            }
            else
            {
                changedSkipped.Add(file);
            }
        }

        return new FileSelection(load, replaced, changedSkipped, done);
    }

    /// <summary>
    /// <paramref name="committed"/> without the files of <paramref name="listed"/> that <paramref name="reload"/>
    /// picks (<c>--reload</c>), and those files: committed ones among them are selected for loading again.
    /// </summary>
    public static (IReadOnlyDictionary<string, LedgerEntry> Committed, IReadOnlyList<SourceFile> Reloaded) Forgetting(
        IReadOnlyDictionary<string, LedgerEntry> committed, IReadOnlyList<SourceFile> listed, Func<SourceFile, bool> reload)
    {
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(listed);
        ArgumentNullException.ThrowIfNull(reload);
        List<SourceFile> reloaded = [];
        foreach (var file in listed)
        {
            if (committed.ContainsKey(file.Name) && reload(file))
            {
                reloaded.Add(file);
            }
        }

        if (reloaded.Count == 0)
        {
            return (committed, reloaded);
        }

        var rest = new Dictionary<string, LedgerEntry>(committed, StringComparer.Ordinal);
        foreach (var file in reloaded)
        {
            rest.Remove(file.Name);
        }

        return (rest, reloaded);
    }
}
