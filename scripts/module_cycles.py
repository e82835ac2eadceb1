#!/usr/bin/env python3
"""Import cycles between the modules of each crate: a module that uses another (through
`crate::` or `super::` paths) depends on it; a cycle of such uses is a layering defect, named
here. Exit status 1 when a crate has one. Usage: scripts/module_cycles.py CRATE_SRC..."""
import re, glob, sys, os


def cycles(root):
    files=glob.glob(root+'/**/*.rs',recursive=True)
    def modname(f):
        r=os.path.relpath(f,root)[:-3]
        if r.endswith('/mod'): r=r[:-4]
        if r=='lib': r=''
        return r.replace('/','::')
    mods={modname(f):f for f in files}
    edges={}
    for m,f in mods.items():
        s=open(f).read()
        # strip comments
        s=re.sub(r'//.*','',s)
        # cut tests
        s=s.split('#[cfg(test)]')[0]
        deps=set()
        for x in re.findall(r'crate::([a-z_]+(?:::[a-z_]+)*)',s):
            parts=x.split('::')
            # longest module prefix
            for k in range(len(parts),0,-1):
                c='::'.join(parts[:k])
                if c in mods: deps.add(c); break
        parent=m.rsplit('::',1)[0] if '::' in m else ''
        for x in re.findall(r'\bsuper::([a-z_]+(?:::[a-z_]+)*)',s):
            parts=x.split('::')
            base=parent
            found=False
            for k in range(len(parts),0,-1):
                c=(base+'::' if base else '')+'::'.join(parts[:k])
                if c in mods: deps.add(c); found=True; break
            if not found and base in mods: deps.add(base)
        if re.search(r'\bsuper::\*|use super::\{|\bsuper::[A-Z]',s) and parent in mods: deps.add(parent)
        deps.discard(m)
        edges[m]=deps
    # find cycles (pairs and longer) with Tarjan
    idx={};low={};st=[];on=set();res=[];c=[0]
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in edges.get(v,()):
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            if len(comp)>1: res.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in idx: sc(v)
    return res


if __name__ == "__main__":
    bad = 0
    for root in sys.argv[1:]:
        for comp in cycles(root):
            print(f"{root}: import cycle between {', '.join(sorted(comp))}")
            bad += 1
    sys.exit(1 if bad else 0)
