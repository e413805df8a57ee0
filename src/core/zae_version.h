
/*
 * Copyright (C) zae-limit authors
 *
 * The release version, in one place: zae-admin prints it ("zae-admin
 * version", the User-Agent, the version record's updated_by), the
 * module exports it as zae_limit_build_info{version="..."}, and `make
 * deb` (util/pkg/build-deb.sh) reads it from this line for the Debian
 * packages.  docs/CHANGELOG.md must have a section for it.
 */


#ifndef _ZAE_VERSION_H_INCLUDED_
#define _ZAE_VERSION_H_INCLUDED_


#define ZAE_VERSION  "0.1.0"


#endif /* _ZAE_VERSION_H_INCLUDED_ */
